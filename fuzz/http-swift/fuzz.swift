// libFuzzer target: the swift twin's read_request (Sources/swift/http/request.swift) on
// any bytes, as if a client had sent them and closed; the twin of fuzz/http-c. Besides
// crashes (a trap on overflow or a bad index is one), it checks what the server
// promises: a known status, and a 200 only for a file inside the root.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  if realpath("lectures/http-site", &root) == nil {
    perror("fuzz/http-swift: lectures/http-site (run it in the kit's folder)")
    exit(1)
  }
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafeMutableRawPointer, _ size: Int) -> Int32 {
  guard size > 0, let input = fmemopen(data, size, "r") else { return 0 }  // nothing, or no FILE
  var rq = Request()
  var deadline = timespec()
  clock_gettime(CLOCK_MONOTONIC, &deadline)
  deadline.tv_sec += 60  // never reached: the bytes are all there
  let status = read_request(input, &rq, deadline)
  fclose(input)
  guard [0, 200, 400, 404, 405, 408, 414, 431, 505].contains(status) else {
    fatalError("unexpected status \(status)")
  }
  let n = strlen(root)
  if status == 200 && (strncmp(rq.file, root, n) != 0 || (rq.file[n] != 0 && rq.file[n] != 0x2f)) {
    fatalError("200 for a file outside the root")
  }
  return 0
}
