// tcp-capitalize client over the Sockets library: send one line from standard input,
// print the server's upper-cased answer on stderr, in the slides' format.
import ArgumentParser
@preconcurrency import Foundation  // stderr
import KitOptions
import Sockets

@main
struct TcpCapitalizeClient: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tcp-capitalize-client",
    abstract: "Send a line of stdin to the server at localhost:6789, print its answer.")

  @OptionGroup var options: ClientOptions

  func run() throws {
    // The line first, so a slow typist does not hold up an iterative server
    guard let line = readLine() else {
      fputs("Error: no line on standard input\n", stderr)
      throw ExitCode.failure
    }
    let server = try Socket.connect(
      host: options.host(default: "localhost"), port: options.port(default: 6789),
      timeout: .seconds(5))
    // The newline ends the line for every server: the slides' C reads once, Java and
    // this kit's servers read up to it. No '\0' follows, as none of them needs one.
    try server.sendAll(line + "\n", timeout: .seconds(5))
    // Up to the newline, however many reads it takes: the C servers pad their answer
    // with NULs to 1024 bytes, the slides' Java server sends one byte per write
    guard let reply = try server.receiveLine(timeout: .seconds(5)) else {
      fputs("Error: the server closed the connection without an answer\n", stderr)
      throw ExitCode.failure
    }
    // The slides print "FROM SERVER: %s \n" where %s still ends with the line's newline
    fputs("FROM SERVER: \(reply)\n \n", stderr)
  }
}
