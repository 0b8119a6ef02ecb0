// tcp-echo server over SwiftNIO: the Swift ecosystem's production event loop, as
// asyncio is Python's in the chapter. It speaks and prints what
// CSources/tcp-echo/server.c does, but serves every client at once.

// Glibc before NIO, which imports it too: only then does @preconcurrency take effect
// and let Swift 6 code touch C's stdout and stderr.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif
import NIOCore
import NIOPosix

let defaultPort = 8080
let maxRead = 256 * 1024  // the largest read: big reads make bulk echo cheap
let owedHigh = 1024 * 1024  // echo owed to a client above which we stop reading it...
let owedLow = 512 * 1024  // ...until its socket has taken the owed echo down to this

/// Writes back whatever a client sends. Its place in the pipeline: each read comes in
/// as a ByteBuffer and goes straight back out; no copy, no task hop.
final class EchoHandler: ChannelDuplexHandler {
  typealias InboundIn = ByteBuffer
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  /// NIO asked for the next read while the client owed us draining; asked again later.
  private var readHeld = false

  func channelActive(context: ChannelHandlerContext) {
    // Python prints the address tuple: ('127.0.0.1', 54321)
    let peer = context.remoteAddress
    print("Connected: ('\(peer?.ipAddress ?? "?")', \(peer?.port ?? 0))")
    context.fireChannelActive()
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    context.write(data, promise: nil)  // the same buffer, queued; flushed below
  }

  /// One flush per batch of reads: one writev for what this wake-up brought.
  func channelReadComplete(context: ChannelHandlerContext) {
    context.flush()
  }

  /// Backpressure: with autoRead on, NIO asks for a read after every batch. Pass the
  /// request on only while the echo owed stays under the high water mark, or a client
  /// that sends but never reads would make us buffer without end.
  func read(context: ChannelHandlerContext) {
    if context.channel.isWritable {
      context.read()
    } else {
      readHeld = true
    }
  }

  func channelWritabilityChanged(context: ChannelHandlerContext) {
    if context.channel.isWritable && readHeld {
      readHeld = false
      context.read()
    }
    context.fireChannelWritabilityChanged()
  }

  /// The client shut down its sending side (FIN): it may still be reading its echo.
  /// Close once everything owed has gone out, as the C servers do.
  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent {
      let channel = context.channel
      // Writes complete in order: an empty one completes after all before it.
      context.writeAndFlush(NIOAny(ByteBuffer())).whenComplete { _ in
        channel.close(promise: nil)
      }
      return
    }
    context.fireUserInboundEventTriggered(event)
  }

  /// A reset or vanished peer is routine for a server; anything else is news.
  func errorCaught(context: ChannelHandlerContext, error: Error) {
    let code = (error as? IOError)?.errnoCode
    if code != ECONNRESET && code != EPIPE {
      fputs("tcp-echo-nio-server: \(error)\n", stderr)
    }
    context.close(promise: nil)
  }
}

/// On the listening channel: says it listens once it does. channelActive runs on the
/// channel's event loop after bind and before its first accept, so this line always
/// comes before any client's "Connected"; printed from the main thread once bind's
/// future completed, it could come after one.
final class ListeningAnnouncer: ChannelInboundHandler {
  typealias InboundIn = Channel
  let port: Int  // the port asked for, as the C servers print it

  init(port: Int) { self.port = port }

  func channelActive(context: ChannelHandlerContext) {
    print("Listening on port \(port)")
    context.fireChannelActive()
  }
}

/// On the listening channel: when accept fails, say so as the C servers' perror does
/// (once, until a client gets through again); when it failed for want of a descriptor
/// or memory, the client stays queued, so stop accepting for 100 ms. NIO's own
/// AcceptBackoffHandler delays only the next read request, while the failed one stays
/// registered with level-triggered epoll: accept4 would fail thousands of times a
/// second. Turning autoRead off takes the listener off epoll until it is turned on.
final class AcceptErrorHandler: ChannelInboundHandler {
  typealias InboundIn = Channel

  private var reported = false

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    reported = false
    context.fireChannelRead(data)
  }

  func errorCaught(context: ChannelHandlerContext, error: Error) {
    let code = (error as? IOError)?.errnoCode
    if !reported {
      fputs("accept failed: \(code.map { String(cString: strerror($0)) } ?? "\(error)")\n", stderr)
      reported = true
    }
    guard let code, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(code),
      let options = context.channel.syncOptions
    else { return }
    try? options.setOption(.autoRead, value: false)
    let listener = context.channel
    context.eventLoop.scheduleTask(in: .milliseconds(100)) {
      listener.setOption(.autoRead, value: true).whenFailure { _ in }  // fails only once closed
    }
  }
}

setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
let port = getenv("KIT_PORT").map { Int(atoi($0)) } ?? defaultPort  // kit

// NIO's shared group: one event loop (thread) per core, as NIO's own examples run,
// unless NIO_SINGLETON_GROUP_LOOP_COUNT says how many. With 1 it is one thread, like
// the C epoll server; make bench measures both (lectures/tcp-echo.md).
let group = MultiThreadedEventLoopGroup.singleton
let bootstrap = ServerBootstrap(group: group)
  // Restart at once, though connections this server closed sit in TIME_WAIT
  .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
  // Hundreds of clients may connect at once: a backlog as long as the system allows
  .serverChannelOption(.backlog, value: Int32(SOMAXCONN))
  .serverChannelInitializer { channel in
    channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandlers(
        ListeningAnnouncer(port: port), AcceptErrorHandler())
    }
  }
  .childChannelOption(
    .recvAllocator,
    value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: maxRead)
  )
  .childChannelOption(
    .writeBufferWaterMark,
    value: ChannelOptions.Types.WriteBufferWaterMark(low: owedLow, high: owedHigh)
  )
  // Deliver a client's FIN as an event rather than closing at once: its echo may be owed
  .childChannelOption(.allowRemoteHalfClosure, value: true)
  .childChannelInitializer { channel in
    channel.eventLoop.makeCompletedFuture {
      try channel.pipeline.syncOperations.addHandler(EchoHandler())
    }
  }

do {
  // ("0.0.0.0", 8080): every local interface
  let server = try bootstrap.bind(host: "0.0.0.0", port: port).wait()
  try server.closeFuture.wait()  // serves until killed
} catch {
  fputs("tcp-echo-nio-server: \(error)\n", stderr)
  exit(EXIT_FAILURE)
}
