// green/green.hpp
//
// Umbrella header: everything green offers, greenlets, both generators
// (stackful and stackless) and the hub (gevent's model; its opt-in Asio
// header green/hub/asio.hpp is not included). Link green::green, which links every green
// library, with it.
//
//   #include <green/green.hpp>

#ifndef GREEN_GREEN_HPP
#define GREEN_GREEN_HPP

#include "green/context.hpp"
#include "green/debug.hpp"
#include "green/errors.hpp"
#include "green/generator.hpp"
#include "green/generator_common.hpp"
#include "green/greenlet.hpp"
#include "green/hub.hpp"
#include "green/stack.hpp"
#include "green/stackless.hpp"
#include "green/value.hpp"
#include "green/version.hpp"

#endif  // GREEN_GREEN_HPP
