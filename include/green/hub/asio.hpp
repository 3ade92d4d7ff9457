// green/hub/asio.hpp
//
// Opt-in: the only green header that includes Boost.Asio. For applications
// that run green's hub on an io_context of their own (a server that embeds
// green keeps its loop), or that want the hub's io_context to add their own
// I/O objects to it.
//
//   boost::asio::io_context io;
//   green::make_hub(io);  // this thread's hub waits on `io`
//
// The io_context must outlive the hub and be run only by the hub (on this
// thread) while the hub is in use.

#ifndef GREEN_HUB_ASIO_HPP
#define GREEN_HUB_ASIO_HPP

#include <boost/asio/io_context.hpp>

#include "green/config.hpp"
#include "green/hub/hub.hpp"

namespace green {

// make_hub(io, options) creates the calling thread's hub on `io`.
// Throws: green::error if this thread already has a hub.
GREEN_API hub& make_hub(boost::asio::io_context& io, hub_options options = {});

// io_context(h) is the io_context `h` waits on (its own or the one given).
GREEN_API boost::asio::io_context& io_context(hub& h) noexcept;

}  // namespace green

#endif  // GREEN_HUB_ASIO_HPP
