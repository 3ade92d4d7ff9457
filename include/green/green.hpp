// green/green.hpp
//
// Umbrella header: everything green offers.
//
//   #include <green/green.hpp>

#ifndef GREEN_GREEN_HPP
#define GREEN_GREEN_HPP

#include "green/context.hpp"
#include "green/debug.hpp"
#include "green/errors.hpp"
#include "green/greenlet.hpp"
#include "green/stack.hpp"
#include "green/value.hpp"
#include "green/version.hpp"

#endif  // GREEN_GREEN_HPP
