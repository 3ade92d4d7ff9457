// green/version.hpp
//
// The library version. CMake's project() version and these numbers are kept
// equal; `green::version_string()` reports what the linked library was built as.

#ifndef GREEN_VERSION_HPP
#define GREEN_VERSION_HPP

#include "green/config.hpp"

#define GREEN_VERSION_MAJOR 0
#define GREEN_VERSION_MINOR 1
#define GREEN_VERSION_PATCH 0

namespace green {
// version_string() is the version of the compiled library, "major.minor.patch".
GREEN_API const char* version_string() noexcept;
}  // namespace green

#endif  // GREEN_VERSION_HPP
