// The Catch2 test runner (tests mirror the source tree: tests/data, tests/models, ...).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
