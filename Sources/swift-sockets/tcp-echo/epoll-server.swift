// tcp-echo epoll server over the Sockets library: the chapter's echo server as one
// event loop, one thread for every client. Prints what CSources/tcp-echo/server.c prints.
//
// select-server.swift, poll-server.swift and epoll-server.swift are one program: apart
// from their names, they differ in one word, the backend they give the Poller; the loop
// itself is shared, in Sources/EchoLoop/EchoLoop.swift. That is
// the lesson: an event loop does not change with the kernel interface under it; what
// changes is what a wait costs, and which descriptors it can watch.
import ArgumentParser
import EchoLoop
import KitOptions
import Sockets

#if canImport(Glibc)
  @preconcurrency import Glibc  // setvbuf, stdout, stderr, SOMAXCONN
#elseif canImport(Musl)
  @preconcurrency import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

@main
struct TcpEchoEpollServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-echo-epoll-server",
    abstract: "On port 8080: send every client back what it sends; one thread, over epoll.")

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    // Every interface, IPv6 and IPv4 (dual-stack); a backlog of SOMAXCONN, not 5:
    // hundreds of clients may connect at once
    let listener = try Socket.listen(port: port, backlog: Int(SOMAXCONN))
    let poller = try Poller(backend: .epoll)  // the line that differs: .select, .poll, .epoll
    print("Listening on port \(port)")
    var loop = EchoLoop(listener: listener, poller: poller)
    try loop.run()
  }
}
