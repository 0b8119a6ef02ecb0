// libFuzzer target: the swift-sockets server's Request.read (Sources/swift-sockets/http/
// request.swift) on any bytes, as if a client had sent them and closed. They arrive in
// pieces whose size depends on the input's length, so lines split across receives in
// many ways. Besides crashes (a trap on overflow or a bad index is one), it checks what
// the server promises: a known status, and a 200 only for a file inside the root.
@preconcurrency import Foundation

nonisolated(unsafe) var root = ""

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  guard let path = realPath(Array("lectures/http-site".utf8)) else {
    fputs("fuzz/http-swift-sockets: no lectures/http-site (run it in the kit's folder)\n", stderr)
    exit(1)
  }
  root = path
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  var rest = UnsafeBufferPointer(start: data, count: size)[...]
  let piece = 1 + size % 4096  // a receive takes up to 4096 bytes
  var request = Request { _ in
    guard !rest.isEmpty else { return .closed }
    defer { rest = rest.dropFirst(piece) }
    return .bytes(Array(rest.prefix(piece)))
  }
  let status = request.read(root: root)
  guard [0, 200, 400, 404, 405, 408, 414, 431, 505].contains(status) else {
    fatalError("unexpected status \(status)")
  }
  let inside = request.file == root || request.file.utf8.starts(with: (root + "/").utf8)
  if status == 200 && !inside {
    fatalError("200 for \(request.file), outside \(root)")
  }
  return 0
}
