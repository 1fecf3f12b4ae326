#include "core/transport/event_loop.h"

#include <gtest/gtest.h>
#include <zmq.hpp>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/util/clock.h"

namespace sprawl::transport {
namespace {

// A handler that watches new sockets while the loop dispatches (as a peer
// transport does when a message handler opens a connection) keeps running
// on intact state, and the loop goes on polling old and new sockets alike.
TEST(EventLoopTest, AHandlerMayWatchAndUnwatchSocketsWhileTheLoopDispatches) {
  zmq::context_t context;
  EventLoop loop(SystemClock::Instance());
  zmq::socket_t inbox(context, zmq::socket_type::pair);
  inbox.bind("inproc://event-loop-test-inbox");
  zmq::socket_t sender(context, zmq::socket_type::pair);
  sender.connect("inproc://event-loop-test-inbox");

  std::vector<std::unique_ptr<zmq::socket_t>> added;
  std::vector<std::unique_ptr<zmq::socket_t>> added_senders;
  int later_reads = 0;
  int handled = 0;
  const std::string tag(64, 'x');  // captured state the handler reads after watching
  loop.Watch(inbox, [&, tag] {
    zmq::message_t m;
    while (inbox.recv(m, zmq::recv_flags::dontwait)) {
      ++handled;
      // Enough new watches to move the loop's own storage.
      for (int i = 0; i < 16; ++i) {
        const std::string endpoint =
            "inproc://event-loop-test-" + std::to_string(handled) + "-" + std::to_string(i);
        added.push_back(std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair));
        added.back()->bind(endpoint);
        zmq::socket_t* socket = added.back().get();
        loop.Watch(*socket, [&, socket] {
          zmq::message_t n;
          while (socket->recv(n, zmq::recv_flags::dontwait)) ++later_reads;
        });
        added_senders.push_back(std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair));
        added_senders.back()->connect(endpoint);
        added_senders.back()->send(zmq::str_buffer("hi"), zmq::send_flags::none);
      }
      loop.Unwatch(*added.front());  // one of them goes again at once
      EXPECT_EQ(tag, std::string(64, 'x'));
    }
    if (handled == 2) loop.Stop();
  });
  std::thread runner([&] { loop.Run(); });
  sender.send(zmq::str_buffer("one"), zmq::send_flags::none);
  sender.send(zmq::str_buffer("two"), zmq::send_flags::none);
  runner.join();
  EXPECT_EQ(handled, 2);
  // Every watched socket but the unwatched one was read before the stop, or
  // is left for a later run; none was read after it was unwatched.
  EXPECT_LE(later_reads, 31);
}

}  // namespace
}  // namespace sprawl::transport
