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

/// One connection: read the request, answer, log one line. Every byte a client sends
/// is treated as hostile; an error ends this connection, never the server.
func serve(_ client: Socket, root: String) {
  var request = Request(client: client)
  let status = request.read(root: root)
  guard status != 0 else { return }  // nobody to answer: silent, or gone mid-request
  try? request.answer(status)  // a client that leaves mid-answer is no error of ours
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

/// One request: its bytes as they arrive, and what was understood of them.
struct Request {
  let client: Socket
  var buffered: [UInt8] = []
  var received = 0
  /// The whole request must arrive within 10 s: a slowloris cannot hold its thread.
  let deadline = ContinuousClock.now + .seconds(10)
  var method = Array("-".utf8)
  var target = Array("-".utf8)
  var file = ""  // for 200: the file to send
  var status = 0  // the status sent, for the log

  var isHead: Bool { method == Array("HEAD".utf8) }

  /// Reads and checks the request: the status to answer (200: `file` is the file to
  /// send), or 0 when the client sent nothing or left mid-request.
  mutating func read(root: String) -> Int {
    do {
      // METHOD SP TARGET SP HTTP/1.x, exactly one space apart
      let parts = try line(tooLong: 414).split(
        separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
      guard parts.count == 3, isToken(parts[0]), !parts[1].isEmpty else { return 400 }
      (method, target) = (Array(parts[0]), Array(parts[1]))
      let version = String(decoding: parts[2], as: UTF8.self)
      guard version.wholeMatch(of: /HTTP\/1\.[01]/) != nil else {
        return version.wholeMatch(of: /HTTP\/[0-9]\.[0-9]/) != nil ? 505 : 400
      }
      // Every header up to the empty line is read (only Host matters), so that the
      // request has been taken in whole before the answer
      var (count, bytes, hosts) = (0, 0, 0)
      while case let header = try line(tooLong: 431), !header.isEmpty {
        (count, bytes) = (count + 1, bytes + header.count + 2)
        guard count <= 64, bytes <= 16384 else { return 431 }
        // No colon, or a name that is no token (as in a folded line, starting with a space)
        guard let colon = header.firstIndex(of: 0x3a), isToken(header[..<colon]) else { return 400 }
        if String(decoding: header[..<colon], as: UTF8.self).lowercased() == "host" { hosts += 1 }
      }
      guard method == Array("GET".utf8) || isHead else { return 405 }
      if version == "HTTP/1.1" && hosts != 1 { return 400 }  // 1.1 requires one Host
      return resolve(target, root: root)
    } catch {
      return error.status
    }
  }

  /// One line without its "\n" or "\r\n": at most 8191 bytes, no NUL, no lone "\r".
  /// Each read waits 5 s at most (a silent client is dropped), all of them 10 s.
  mutating func line(tooLong: Int) throws(Refusal) -> [UInt8] {
    while true {
      if let end = buffered.prefix(8192).firstIndex(of: 0x0a) {
        var line = Array(buffered[..<end])
        buffered.removeFirst(end + 1)
        if line.last == 0x0d { line.removeLast() }
        guard !line.contains(0), !line.contains(0x0d) else { throw Refusal(400) }
        return line
      }
      guard buffered.count < 8192 else { throw Refusal(tooLong) }
      let left = ContinuousClock.now.duration(to: deadline)
      guard left > .zero else { throw Refusal(408) }
      let more: [UInt8]
      do {
        more = try client.receive(upTo: 4096, timeout: min(left, .seconds(5)))
      } catch .timedOut {
        throw Refusal(received == 0 ? 0 : 408)  // a silent connection is closed quietly
      } catch {
        throw Refusal(0)  // reset: nobody to answer
      }
      guard !more.isEmpty else { throw Refusal(0) }  // closed mid-request
      (buffered, received) = (buffered + more, received + more.count)
    }
  }

  /// The target's path as a file inside the root: the query dropped, %XX decoded, then
  /// resolved by realpath, which follows "..", "." and symbolic links. Decoding first
  /// judges "%2e%2e%2f" as the "../" it is. Outside the root is 404, like a missing
  /// file: a client cannot probe which files exist elsewhere.
  mutating func resolve(_ target: [UInt8], root: String) -> Int {
    guard target.first == 0x2f else { return 400 }  // "/": no absolute-form, no "*"
    var path = Array(root.utf8)
    var rest = target.prefix { $0 != 0x3f && $0 != 0x23 }[...]  // up to "?" or "#"
    while let byte = rest.popFirst() {
      if byte == 0x25 {  // "%XX"
        let digits = rest.prefix(2)
        guard digits.count == 2, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
          let code = UInt8(String(decoding: digits, as: UTF8.self), radix: 16), code != 0
        else { return 400 }  // not two hex digits, or a NUL, which would cut the name
        path.append(code)
        rest.removeFirst(2)
      } else {
        guard byte > 0x20 && byte < 0x7f else { return 400 }
        path.append(byte)
      }
    }
    guard var file = realPath(path), isInside(file, root) else { return 404 }
    if isFolder(file) {  // its index.html, which may be a link out of the root too
      guard let index = realPath(Array((file + "/index.html").utf8)), isInside(index, root)
      else { return 404 }
      file = index
    }
    let type = try? FileManager.default.attributesOfItem(atPath: file)[.type]
    guard type as? FileAttributeType == .typeRegular else { return 404 }
    self.file = file
    return 200
  }

  /// The status line and headers, then the file or a one-line text (no body for HEAD).
  /// Content-Length says where the body ends; Connection: close that nothing follows.
  mutating func answer(_ status: Int) throws(SocketError) {
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

/// Why a request gets no file: the status to answer, 0 if nobody is left to answer.
struct Refusal: Error {
  let status: Int
  init(_ status: Int) { self.status = status }
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

/// RFC 9110's token: what a method or a header name may be made of.
func isToken(_ bytes: ArraySlice<UInt8>) -> Bool {
  !bytes.isEmpty
    && bytes.allSatisfy {
      let c = Character(Unicode.Scalar($0))
      return c.isASCII && (c.isLetter || c.isNumber || "!#$%&'*+-.^_`|~".contains(c))
    }
}

/// realpath(3): the absolute path with ".", ".." and symbolic links resolved; nil if
/// some part of it does not exist (the reason in errno), or if it is no UTF-8.
func realPath(_ path: [UInt8]) -> String? {
  guard let resolved = realpath(path.map { CChar(bitPattern: $0) } + [0], nil) else { return nil }
  defer { free(resolved) }
  return String(validatingCString: resolved)
}

func isFolder(_ path: String) -> Bool {
  var folder: ObjCBool = false
  return FileManager.default.fileExists(atPath: path, isDirectory: &folder) && folder.boolValue
}

/// Whether `file` is the root or below it, byte for byte. Comparing Strings would call
/// "é" and "e" + U+0301 equal, two different names on disk; and without the "/" the root
/// "/srv/site" would let in "/srv/site-private/key".
func isInside(_ file: String, _ root: String) -> Bool {
  (file + "/").utf8.starts(with: (root.hasSuffix("/") ? root : root + "/").utf8)
}
