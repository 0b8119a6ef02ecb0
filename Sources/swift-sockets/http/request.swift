// http-server's request reading over Foundation: what the server takes in from a
// client, apart from the socket so that fuzz/http-swift-sockets can feed it any bytes
// at all. Every byte a client sends is hostile here: each line, header and path is
// bounded and checked, as in CSources/http/request.c.
@preconcurrency import Foundation  // FileManager, realpath

/// What one wait for a client's bytes brought.
enum Arrival {
  case bytes([UInt8])  // never empty
  case timedOut
  case closed  // the end of the stream, or a reset
}

/// One request: its bytes as they arrive, and what was understood of them.
struct Request {
  /// Waits as long as it is given for the client's next bytes: in the server, a receive
  /// from its socket; in fuzz/http-swift-sockets, the fuzzer's bytes.
  let receive: (Duration) -> Arrival
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
      switch receive(min(left, .seconds(5))) {
      case .bytes(let bytes): more = bytes
      case .timedOut: throw Refusal(received == 0 ? 0 : 408)  // silent: closed quietly
      case .closed: throw Refusal(0)  // closed mid-request, or reset: nobody to answer
      }
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

}

/// Why a request gets no file: the status to answer, 0 if nobody is left to answer.
struct Refusal: Error {
  let status: Int
  init(_ status: Int) { self.status = status }
}

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
