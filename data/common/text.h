#pragma once
// Small text helpers every floor uses.
#include <cstdint>
#include <string>

namespace seqzoo {

// An error message as one line: newlines and carriage returns become spaces, trailing blanks go.
std::string one_line(std::string message);

// Escapes & < > " for XML/SVG text and attributes.
std::string xml_escape(const std::string& s);

// "45s", "12m03s", "3h07m12s".
std::string format_duration(double seconds);
// One number through a printf format ("%.3f", "%.2e").
std::string format_printf(const char* format, double value);
// A compact float: "4.1e-04", "3.412", ... (printf %.*g).
std::string format_number(double value, int digits);

}  // namespace seqzoo
