// What happens when the lectures' programs of different languages meet. Most pairs
// talk: each program prints its own lines, as it would with a partner in its own
// language. The pairs below do not, and this table is the one place that says so,
// with the reason: the tests assert each outcome (an expected outcome, never a
// skip), and the lecture notes show the same pairs.

/// A meeting of the lectures' programs whose outcome is not a plain exchange.
package struct LectureMismatch: Sendable, CustomStringConvertible {
  package enum Outcome: Sendable, Equatable {
    /// Each waits for the other: the server for a line end the client never sends,
    /// the client for the server's reply. Nothing moves until the client goes; then
    /// the server reads what it had, the end of the stream ending the line.
    case bothWait
    /// The client's line end travels, and the server prints what it received: an
    /// empty line after `Received: ...`. Both exit as usual.
    case newlineEchoed
    /// One byte per write meets a server or client that reads once: the read may
    /// return the first byte only, and the reader answers or prints a cut line. Which
    /// happens depends on scheduling, so the tests assert only what always holds.
    case mayBeCut
    /// The server answers a short datagram with its whole buffer: the rest of a
    /// longer datagram it received earlier comes back after the answer.
    case leftovers
    /// A client that closes without sending a line ends the server: its readLine()
    /// returns null, which it upper-cases; a client queued behind it is reset.
    case endsOnEmptyConnection
    /// A client that never reads holds up the one who speaks: the server waits for
    /// it to take each chunk before it reads the next from anyone else.
    case stallsOnSlowReader
    /// The server reports no errors: a client that resets is removed without a word.
    case silentOnErrors
  }

  package let example: String
  /// The server's flavors and the client's flavors this applies to (every server of
  /// the example in those flavors: tcp-capitalize's variants read once too), or
  /// `LectureInterop.testPeers`: the peers a test makes itself.
  package let servers: [String]
  package let clients: [String]
  package let outcome: Outcome
  package let reason: String

  package var description: String {
    "\(example): \(servers.joined(separator: ",")) servers with \(clients.joined(separator: ",")) clients: \(reason)"
  }
}

package enum LectureInterop {
  /// In `clients`: the peers a test makes itself (a silent client, a reader that
  /// never reads), not a program of the kit.
  package static let testPeers = "test peers"
  static let readOnce = ["c", "swift"]

  package static let mismatches: [LectureMismatch] = [
    LectureMismatch(
      example: "tcp-hello", servers: ["java"], clients: readOnce + ["python"], outcome: .bothWait,
      reason: """
        the Java server's readLine() waits for a '\\n' that the C and Python clients never \
        send (17 bytes, no line end), while they wait in recv() for its reply (the \
        swift-sockets client shuts down its sending side, an end the Java server sees)
        """),
    LectureMismatch(
      example: "tcp-hello", servers: readOnce + ["python"], clients: ["java"],
      outcome: .newlineEchoed,
      reason: """
        the Java client's println() sends "Hello from client\\n"; the C and Python servers \
        print all they received, the '\\n' too (the swift-sockets server ends a message \
        at a newline)
        """),
    LectureMismatch(
      example: "tcp-capitalize", servers: readOnce, clients: ["java"], outcome: .mayBeCut,
      reason: """
        the Java client's writeBytes() sends one byte per write and the slides' C server \
        reads once: it may read "h" only, answer "H" and NULs, and close, and the Java \
        client then prints that, or dies of the reset when it writes the rest
        """),
    LectureMismatch(
      example: "tcp-capitalize", servers: ["java"], clients: readOnce, outcome: .mayBeCut,
      reason: """
        the Java server's writeBytes() sends one byte per write and the slides' C client \
        reads once: it may print "FROM SERVER: H" only; closing with the rest unread, it \
        resets the connection, and the Java server's next write may then throw and end it
        """),
    LectureMismatch(
      example: "tcp-capitalize", servers: ["java"], clients: [testPeers],
      outcome: .endsOnEmptyConnection,
      reason: """
        a client that closes without sending a line (the silent client of the test) ends \
        the slides' Java server: readLine() returns null, and null.toUpperCase() throws \
        a NullPointerException that nothing catches
        """),
    LectureMismatch(
      example: "udp-capitalize", servers: readOnce + ["java"], clients: ["java"],
      outcome: .leftovers,
      reason: """
        the slides' servers answer with their whole 1024-byte buffer, which keeps the \
        bytes of earlier datagrams, and the Java client prints its whole buffer: a \
        shorter line comes back with the end of a longer earlier one (the C clients send \
        1024 bytes and print up to the NUL, which hides it; the swift-sockets ones stop \
        at the newline)
        """),
    LectureMismatch(
      example: "chat", servers: ["python"], clients: [testPeers], outcome: .stallsOnSlowReader,
      reason: """
        the chapter's asyncio server awaits drain() on each listener in turn: once a \
        client that never reads has its buffers full, the speaker's chunks wait for it, \
        and nobody hears more until it reads (the kit's servers drop it at a cap)
        """),
    LectureMismatch(
      example: "chat", servers: ["python"], clients: [testPeers], outcome: .silentOnErrors,
      reason: """
        the chapter's server prints nothing when a client resets its connection: the \
        client is removed without a word (the kit's servers say recv failed, and why)
        """),
  ]

  /// The mismatch for this pair, if it is one.
  package static func mismatch(example: String, server: String, client: String)
    -> LectureMismatch?
  {
    mismatches.first {
      $0.example == example && $0.servers.contains(server) && $0.clients.contains(client)
    }
  }

  /// The mismatch with this outcome for the server's flavor and the test's own peers.
  package static func mismatch(
    _ outcome: LectureMismatch.Outcome, example: String, server: String
  ) -> LectureMismatch? {
    mismatches.first {
      $0.outcome == outcome && $0.example == example && $0.servers.contains(server)
        && $0.clients.contains(testPeers)
    }
  }
}
