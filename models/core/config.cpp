#include "models/core/config.h"
// (parser: in progress)
