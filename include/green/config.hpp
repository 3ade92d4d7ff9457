// green/config.hpp
//
// Build configuration shared by every public header. GREEN_API marks what the
// library exports: it is compiled with -fvisibility=hidden, so a shared build
// exports exactly the public API and nothing from lib/ or Boost.

#ifndef GREEN_CONFIG_HPP
#define GREEN_CONFIG_HPP

#define GREEN_API __attribute__((visibility("default")))

#endif  // GREEN_CONFIG_HPP
