// The opt-in Asio interface (green/hub/asio.hpp): a hub on the application's
// io_context waits in it, and the application's own I/O keeps the loop
// alive (docs/semantics.md H1.1, H2.1).
#define BOOST_TEST_MODULE hub_asio
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <string>

#include "green/hub.hpp"
#include "green/hub/asio.hpp"
#include "support/hub_fixture.hpp"

using namespace std::chrono_literals;

BOOST_FIXTURE_TEST_SUITE(hub_asio, green::test::hub_check)

BOOST_AUTO_TEST_CASE(a_hub_on_the_applications_io_context_runs_its_handlers_while_main_waits) {
  green::destroy_hub();
  {
    boost::asio::io_context io;
    green::hub& h = green::make_hub(io);
    BOOST_CHECK(&green::io_context(h) == &io);
    green::event e;
    boost::asio::steady_timer timer(io, 1ms);
    // The application's timer is pending: no loop_exit, the hub waits in io.
    timer.async_wait([&](const boost::system::error_code&) { e.set(); });
    BOOST_CHECK(e.wait());
    // Without the application's work, nothing can wake main.
    green::event never;
    BOOST_CHECK_THROW(never.wait(), green::loop_exit);
    green::destroy_hub();  // before io goes away
  }
  green::make_hub({.virtual_clock = true});
}

BOOST_AUTO_TEST_CASE(the_hubs_own_io_context_is_reachable_for_the_applications_io_objects) {
  boost::asio::io_context& io = green::io_context(green::get_hub());
  std::string got;
  green::async_result<void> done;
  // Waiting on an async_result makes the hub wait in its io_context, where
  // the application's handler runs.
  boost::asio::post(io, [&] {
    got = "posted";
    done.set();
  });
  done.get();
  BOOST_CHECK_EQUAL(got, "posted");
}

BOOST_AUTO_TEST_SUITE_END()
