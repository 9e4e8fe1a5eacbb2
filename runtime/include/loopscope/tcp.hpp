// TCP on the event loop: everything in one include.
//
//   tcp_stream.hpp  TcpStream (read, read_exactly, read_until, write_all, shutdown_write),
//                   open_connection, IncompleteReadError, LimitOverrunError, Endpoint
//   tcp_server.hpp  TcpListener (bind, accept), TcpServer and start_server
//
// Sockets are non-blocking and registered edge-triggered with the loop's epoll instance
// (detail/io_watch.hpp); every operation tries its syscall first and suspends only when the
// kernel would block.
#pragma once

#include <loopscope/tcp_server.hpp>
#include <loopscope/tcp_stream.hpp>
