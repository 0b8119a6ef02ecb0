// An example's servers (its own and its variants), each with the example's client:
// the pairs every matrix runs, from programs.txt.

/// A server program of an example and the example's client.
package struct ProgramPair: CustomStringConvertible, Sendable {
  package let server: String
  package let client: String
  package var description: String { "\(server) + \(client)" }

  package static let all = pairs(in: Kit.programs)

  /// The pairs among `programs`: an example with no client (standalone programs) or
  /// no server (a client-only one) has none.
  package static func pairs(in programs: [ProgramEntry]) -> [ProgramPair] {
    programs.filter { $0.kind == .server || $0.kind == .variant }.compactMap { server in
      programs.first { $0.example == server.example && $0.kind == .client }.map {
        ProgramPair(server: server.name, client: $0.name)
      }
    }
  }
}
