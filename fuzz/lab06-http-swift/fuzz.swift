// libFuzzer target: lab 06's Swift reference (labs/06-http/reference/swift/server.swift,
// its declarations), its read_request on any bytes, as if a client had sent them and
// closed; the twin of fuzz/lab06-http-c. Besides crashes (a trap on overflow or a bad
// index is one), it checks what the server promises: a status it knows, and a 200
// only for a regular file inside the root.
#if canImport(Glibc)
  @preconcurrency import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutableRawPointer) -> Int32 {
  guard let resolved = realpath("lectures/http-site", nil) else {
    perror("fuzz/lab06-http-swift: lectures/http-site (run it in the kit's folder)")
    exit(1)
  }
  root = String(cString: resolved)
  free(resolved)
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzz(_ data: UnsafeMutableRawPointer, _ size: Int) -> Int32 {
  guard size > 0, let input = fmemopen(data, size, "r") else { return 0 }  // nothing, or no FILE
  var rq = Request()
  let status = read_request(input, &rq)
  fclose(input)
  guard [0, 200, 400, 404, 405, 414].contains(status) else {
    fatalError("unexpected status \(status)")
  }
  var st = stat()
  if status == 200 && (!inside_root(rq.file) || stat(rq.file, &st) < 0 || !is_regular(st)) {
    fatalError("200 for \(rq.file), not a file inside \(root)")
  }
  return 0
}
