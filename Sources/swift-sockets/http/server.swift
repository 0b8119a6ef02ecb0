// http-server over the Sockets library: serves the files of one folder to browsers,
// curl and the kit's http-client. HTTP/1.0 and 1.1, GET and HEAD, one request per
// connection, each connection on a thread of its own. Answers as CSources/http/server.c
// does: the same statuses, headers, limits and rules for paths.
import ArgumentParser
@preconcurrency import Foundation  // Thread, FileManager, Data, realpath, stdout
import KitOptions
import Sockets

@main
struct HttpServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "http-server",
    abstract: "On port 8080: serve the files of a folder over HTTP/1.0 and 1.1 (GET, HEAD).")

  @Argument(help: "The folder to serve (from the current folder: run it in the kit's).")
  var dir = "lectures/http-site"

  @OptionGroup var options: ServerOptions

  func run() throws {
    setvbuf(stdout, nil, _IOLBF, 0)  // kit: a pipe sees each line at once
    let port = options.port(default: 8080)
    func cannotServe(_ reason: String) -> ExitCode {
      fputs("http-server: cannot serve \(dir): \(reason)\n", stderr)
      return .failure
    }
    // The root every file must be inside: absolute, no symbolic links, no ".."
    guard let root = realPath(Array(dir.utf8)) else {
      throw cannotServe(String(cString: strerror(errno)))
    }
    guard isFolder(root) else { throw cannotServe("not a folder") }
    let listener = try Socket.listen(port: port, backlog: 16)
    print("Serving \(dir) on port \(port)")
    while true {
      do {
        let (client, _) = try listener.accept()
        // A thread, not a Task: tasks share a pool of about one thread per core, and a
        // task blocked in recv holds its thread, so a few slow clients (a browser's
        // spare connections, a slowloris) would stall every other. Each connection's
        // wait is bounded, so each thread ends. The socket is Sendable: it may move.
        Thread.detachNewThread { serve(client, root: root) }
      } catch {
        fputs("Error: \(error)\n", stderr)  // out of descriptors, most likely:
        Thread.sleep(forTimeInterval: 1)  // give the connections time to close some
      }
    }
  }
}

/// One connection: read the request (request.swift), answer, log one line. Every byte a client sends
/// is treated as hostile; an error ends this connection, never the server.
func serve(_ client: Socket, root: String) {
  var request = Request { wait in
    do throws(SocketError) {
      let bytes = try client.receive(upTo: 4096, timeout: wait)
      return bytes.isEmpty ? .closed : .bytes(bytes)
    } catch .timedOut {
      return .timedOut
    } catch {
      return .closed  // reset
    }
  }
  let status = request.read(root: root)
  guard status != 0 else { return }  // nobody to answer: silent, or gone mid-request
  try? request.answer(status, to: client)  // a client that leaves mid-answer is no error of ours
  // Printable ASCII only, 100 bytes at most: no escape codes or fake lines in the log
  let log = { (field: [UInt8]) in
    String(decoding: field.prefix(100).map { $0 > 0x20 && $0 < 0x7f ? $0 : 0x3f }, as: UTF8.self)
  }
  print("\(request.status) \(log(request.method)) \(log(request.target))")
  lingerBeforeClose(client)
}

/// Lingering close (RFC 9112, section 9.6). After our answer a client may still be
/// sending: the rest of a request we refused, a body we ignored. Closing with its bytes
/// unread makes the kernel reset the connection, and a reset can destroy our answer
/// before the client has read it. So we end only our side (the client reads the answer,
/// then end of stream) and read and discard until the client closes too, but 1 MiB and
/// 2 s at most: a client that never stops sending cannot hold the thread. The socket
/// closes when the thread lets go of it.
func lingerBeforeClose(_ client: Socket) {
  guard (try? client.shutdown(.writing)) != nil else { return }  // the client is gone
  let deadline = ContinuousClock.now + .seconds(2)
  var left = 1 << 20
  while left > 0, case let wait = ContinuousClock.now.duration(to: deadline), wait > .zero,
    let discarded = try? client.receive(upTo: min(left, 16384), timeout: wait),
    !discarded.isEmpty
  {
    left -= discarded.count
  }
}

let reasons = [
  200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
  408: "Request Timeout", 414: "URI Too Long", 431: "Request Header Fields Too Large",
  505: "HTTP Version Not Supported",
]

let types = [
  "html": "text/html; charset=utf-8", "css": "text/css; charset=utf-8",
  "js": "text/javascript; charset=utf-8", "png": "image/png",
  "txt": "text/plain; charset=utf-8",
]

extension Request {
  /// The status line and headers, then the file or a one-line text (no body for HEAD).
  /// Content-Length says where the body ends; Connection: close that nothing follows.
  mutating func answer(_ status: Int, to client: Socket) throws(SocketError) {
    let url = URL(fileURLWithPath: file)
    // Mapped, not read: a large file is not copied into memory
    let data = status == 200 ? try? Data(contentsOf: url, options: .alwaysMapped) : nil
    self.status = status == 200 && data == nil ? 404 : status  // unreadable after all
    let reason = reasons[self.status] ?? "Internal Server Error"
    let body = data ?? Data("\(self.status) \(reason)\n".utf8)
    let type =
      data == nil
      ? "text/plain; charset=utf-8"
      : types[url.pathExtension.lowercased()] ?? "application/octet-stream"
    let allow = self.status == 405 ? "Allow: GET, HEAD\r\n" : ""
    try client.sendAll(
      "HTTP/1.0 \(self.status) \(reason)\r\nContent-Type: \(type)\r\n"
        + "Content-Length: \(body.count)\r\n\(allow)Connection: close\r\n\r\n",
      timeout: .seconds(5))
    guard !isHead else { return }
    for start in stride(from: 0, to: body.count, by: 16384) {  // 5 s for each piece
      try client.sendAll(Array(body[start..<min(start + 16384, body.count)]), timeout: .seconds(5))
    }
  }
}
