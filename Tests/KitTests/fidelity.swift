// Fidelity: the eight faithful programs keep the lecture's names, declarations,
// statement order and checks, and each swift twin keeps the C's names and calls the
// same functions in the same order. These read the sources, so a program that drifts
// back (a renamed variable, a socket() folded into its if, a check the slides never
// had, a call moved) fails here even while its output stays the same.
import Foundation
import KitHarness
import Testing

/// A faithful C program, what the lecture fixes about it, and the names its twin shares.
struct FaithfulProgram: CustomStringConvertible, Sendable {
  /// `<example>/<role>`: the C is CSources/<path>.c, its twin Sources/swift/<path>.swift.
  let path: String
  /// "000", the notes' complete programs, or "001", the slides' fragments.
  let document: String
  /// Code the C holds in this order, comments dropped and white space collapsed.
  let statements: [String]
  /// The lecture's variable names: declared by the C and, as `var`/`let`, by the twin.
  let names: [String]
  /// Names and forms the kit once had instead of the lecture's: neither file has them.
  let drifted: [String]
  /// Calls that are the kit's, not the lecture's: each of their lines says `kit`.
  let kitCalls: [String]
  var description: String { path }

  var c: String { Fidelity.read("CSources/\(path).c") }
  var swift: String { Fidelity.read("Sources/swift/\(path).swift") }

  static let all: [FaithfulProgram] = [
    FaithfulProgram(
      path: "tcp-hello/server", document: "000",
      statements: [
        "#include <sys/socket.h> #include <netinet/in.h>", "int main(void)",
        "int server_fd, client_fd;", "struct sockaddr_in address;",
        "socklen_t addrlen = sizeof(address);", "char buffer[BUFFER_SIZE] = {0};",
        #"const char *response = "Hello from server";"#,
        "server_fd = socket(AF_INET, SOCK_STREAM, 0);", "if (server_fd < 0)",
        #"perror("socket failed"); exit(EXIT_FAILURE);"#,
        "int opt = 1; setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));",
        "address.sin_family = AF_INET;", "address.sin_addr.s_addr = INADDR_ANY;",
        "address.sin_port = htons(",
        "if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0)",
        #"perror("bind failed"); exit(EXIT_FAILURE);"#,
        "if (listen(server_fd, 5) < 0)", #"perror("listen failed"); exit(EXIT_FAILURE);"#,
        #"printf("Server listening on port %d\n","#,
        "client_fd = accept(server_fd, (struct sockaddr *)&address, &addrlen);",
        "if (client_fd < 0)", #"perror("accept failed"); exit(EXIT_FAILURE);"#,
        #"printf("Client connected\n");"#,
        "ssize_t bytes_read = recv(client_fd, buffer, BUFFER_SIZE - 1, 0);",
        "if (bytes_read > 0)", #"buffer[bytes_read] = '\0';"#,
        #"printf("Received: %s\n", buffer);"#,
        "send(client_fd, response, strlen(response), 0);", #"printf("Response sent\n");"#,
        "close(client_fd); close(server_fd); return 0;",
      ],
      names: ["server_fd", "client_fd", "address", "addrlen", "buffer", "response", "opt"],
      drifted: ["int addrlen", "(socklen_t *)", "if ((", "int main()"], kitCalls: []),
    FaithfulProgram(
      path: "tcp-hello/client", document: "000",
      statements: [
        "#include <sys/socket.h> #include <netinet/in.h> #include <arpa/inet.h>",
        "int main(void)", "int sock_fd;", "struct sockaddr_in server_addr;",
        "char buffer[BUFFER_SIZE] = {0};", #"const char *message = "Hello from client";"#,
        "sock_fd = socket(AF_INET, SOCK_STREAM, 0);", "if (sock_fd < 0)",
        #"perror("socket failed"); exit(EXIT_FAILURE);"#,
        "server_addr.sin_family = AF_INET;", "server_addr.sin_port = htons(",
        "if (inet_pton(AF_INET,", ", &server_addr.sin_addr) <= 0)",
        #"perror("invalid address"); exit(EXIT_FAILURE);"#,
        "if (connect(sock_fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0)",
        #"perror("connect failed"); exit(EXIT_FAILURE);"#,
        #"printf("Connected to server\n");"#,
        "send(sock_fd, message, strlen(message), 0);", #"printf("Message sent\n");"#,
        "ssize_t bytes_read = recv(sock_fd, buffer, BUFFER_SIZE - 1, 0);",
        "if (bytes_read > 0)", #"buffer[bytes_read] = '\0';"#,
        #"printf("Received: %s\n", buffer);"#, "close(sock_fd); return 0;",
      ],
      names: ["sock_fd", "server_addr", "buffer", "message"],
      drifted: ["sock", "serv_addr", "if ((", "int main()"], kitCalls: []),
    FaithfulProgram(
      path: "udp-hello/server", document: "000",
      statements: [
        "int main(void)", "int sock_fd;", "struct sockaddr_in server_addr, client_addr;",
        "socklen_t client_len = sizeof(client_addr);", "char buffer[BUFFER_SIZE];",
        #"const char *response = "Message received";"#,
        "sock_fd = socket(AF_INET, SOCK_DGRAM, 0);", "if (sock_fd < 0)",
        #"perror("socket failed"); exit(EXIT_FAILURE);"#,
        "memset(&server_addr, 0, sizeof(server_addr));",
        "server_addr.sin_family = AF_INET;", "server_addr.sin_addr.s_addr = INADDR_ANY;",
        "server_addr.sin_port = htons(",
        "if (bind(sock_fd, (struct sockaddr *)&server_addr, sizeof(server_addr)) < 0)",
        #"perror("bind failed"); exit(EXIT_FAILURE);"#,
        #"printf("UDP server listening on port %d\n","#, "while (1) {",
        "ssize_t bytes_read = recvfrom(sock_fd, buffer, BUFFER_SIZE - 1, 0, "
          + "(struct sockaddr *)&client_addr, &client_len);",
        "if (bytes_read > 0)", #"buffer[bytes_read] = '\0';"#,
        #"printf("Received: %s\n", buffer);"#,
        "sendto(sock_fd, response, strlen(response), 0, "
          + "(struct sockaddr *)&client_addr, client_len);",
        "close(sock_fd); return 0;",
      ],
      names: ["sock_fd", "server_addr", "client_addr", "client_len", "buffer", "response"],
      drifted: ["server_fd", "addr_len", "= {0}", "if ((", "int main()"], kitCalls: []),
    FaithfulProgram(
      path: "udp-hello/client", document: "000",
      statements: [
        "#include <sys/socket.h> #include <netinet/in.h> #include <arpa/inet.h>",
        "int main(void)", "int sock_fd;", "struct sockaddr_in server_addr;",
        "socklen_t server_len = sizeof(server_addr);", "char buffer[BUFFER_SIZE];",
        #"const char *message = "Hello from UDP client";"#,
        "sock_fd = socket(AF_INET, SOCK_DGRAM, 0);", "if (sock_fd < 0)",
        #"perror("socket failed"); exit(EXIT_FAILURE);"#,
        "memset(&server_addr, 0, sizeof(server_addr));",
        "server_addr.sin_family = AF_INET;", "server_addr.sin_port = htons(",
        "inet_pton(AF_INET,", ", &server_addr.sin_addr);",
        "sendto(sock_fd, message, strlen(message), 0, "
          + "(struct sockaddr *)&server_addr, server_len);",
        #"printf("Message sent\n");"#,
        "ssize_t bytes_read = recvfrom(sock_fd, buffer, BUFFER_SIZE - 1, 0, "
          + "(struct sockaddr *)&server_addr, &server_len);",
        "if (bytes_read > 0)", #"buffer[bytes_read] = '\0';"#,
        #"printf("Received: %s\n", buffer);"#, "close(sock_fd); return 0;",
      ],
      names: ["sock_fd", "server_addr", "server_len", "buffer", "message"],
      drifted: ["sock", "serv_addr", "addr_len", "= {0}", "if ((", "if (inet_pton"],
      kitCalls: []),
    FaithfulProgram(
      path: "tcp-capitalize/client", document: "001",
      statements: [
        "#define MAX_LINE", "#define MAXLINE", "int main(int argc, char **argv)",
        "int connectionSocket;", "char sentence[MAX_LINE];",
        "char modifiedSentence[MAX_LINE];", "struct hostent *hp;",
        "struct sockaddr_in sin;", "connectionSocket = socket(PF_INET, SOCK_STREAM, 0);",
        "hp = gethostbyname(", "bzero((char *) &sin, sizeof(sin));",
        "sin.sin_family = AF_INET;", "sin.sin_port = htons(",
        "bcopy(hp->h_addr, (char *) &sin.sin_addr, hp->h_length);",
        "connect(connectionSocket, (struct sockaddr *) &sin, sizeof(sin));",
        "fgets(sentence, MAXLINE, stdin);", #"sentence[MAXLINE-1] = '\0';"#,
        "write(connectionSocket, sentence, strlen(sentence)+1);",
        "read(connectionSocket, modifiedSentence, sizeof(modifiedSentence));",
        #"fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);"#,
        "close(connectionSocket); }",
      ],
      names: ["connectionSocket", "sentence", "modifiedSentence", "hp", "sin"],
      drifted: ["clientSocket", "connectSocket", "buff", "herror", "AF_INET, SOCK_STREAM"],
      kitCalls: ["getenv(", "setvbuf(", "memset("]),
    FaithfulProgram(
      path: "tcp-capitalize/server", document: "001",
      statements: [
        "#define MAX_LINE", "#define MAXLINE", "#define LISTENQ", "void capitalize(char *s)",
        "int main(void)", "int welcomeSocket, connectionSocket;",
        "char clientSentence[MAX_LINE];;", "struct sockaddr_in servaddr;",
        "ssize_t bytesRead;", "welcomeSocket = socket(AF_INET, SOCK_STREAM, 0);",
        "servaddr.sin_family = AF_INET;", "servaddr.sin_addr.s_addr = htonl(INADDR_ANY);",
        "servaddr.sin_port = htons(",
        "bind(welcomeSocket, (struct sockaddr *) &servaddr, sizeof(servaddr));",
        "listen(welcomeSocket, LISTENQ);", "for ( ; ; ) {",
        "connectionSocket = accept(welcomeSocket, (struct sockaddr *) NULL, NULL);",
        "bytesRead = read(connectionSocket, clientSentence, MAXLINE);",
        "capitalize(clientSentence);", "write(connectionSocket, clientSentence, MAXLINE);",
        "close(connectionSocket); } close(welcomeSocket); }",
      ],
      names: ["welcomeSocket", "connectionSocket", "clientSentence", "servaddr", "bytesRead"],
      drifted: ["sin", "connectSocket", "lwelcomeSocket", "while (1)", "buff"],
      kitCalls: ["getenv(", "setvbuf(", "memset(", "setsockopt(", "int opt"]),
    FaithfulProgram(
      path: "udp-capitalize/client", document: "001",
      statements: [
        "#define MAX_LINE", "int main(void)", "int sock;", "char sentence[MAX_LINE];",
        "char modifiedSentence[MAX_LINE];", "struct hostent *hp;",
        "struct sockaddr_in cliAddr, remoteServAddr;",
        "socklen_t remoteServLen = sizeof(remoteServAddr);",
        "sock = socket(AF_INET, SOCK_DGRAM, 0);", "hp = gethostbyname(",
        "cliAddr.sin_family = AF_INET;", "cliAddr.sin_addr.s_addr = htonl(INADDR_ANY);",
        "cliAddr.sin_port = htons(0);",
        "bind(sock, (struct sockaddr *) &cliAddr, sizeof(cliAddr));",
        "remoteServAddr.sin_family = hp->h_addrtype;",
        "memcpy((char *) &remoteServAddr.sin_addr.s_addr, hp->h_addr_list[0], hp->h_length);",
        "remoteServAddr.sin_port = htons(", "fgets(sentence, MAX_LINE, stdin);",
        "sendto(sock, sentence, MAX_LINE, 0, (struct sockaddr *) &remoteServAddr, "
          + "sizeof(remoteServAddr));",
        "recvfrom(sock, modifiedSentence, MAX_LINE, 0, (struct sockaddr *) &remoteServAddr, "
          + "&remoteServLen);",
        #"fprintf(stderr, "FROM SERVER: %s \n", modifiedSentence);"#, "close(sock); }",
      ],
      names: [
        "sock", "sentence", "modifiedSentence", "hp", "cliAddr", "remoteServAddr",
        "remoteServLen",
      ],
      drifted: ["bcopy", "herror", "= {0}", "h->"],
      kitCalls: ["getenv(", "setvbuf(", "fgets("]),
    FaithfulProgram(
      path: "udp-capitalize/server", document: "001",
      statements: [
        "#define MAX_LINE", "void capitalize(char *s)", "int main(void)", "int sock;",
        "char clientSentence[MAX_LINE];", "struct sockaddr_in svrAddr, cliAddr;",
        "socklen_t cliLen = sizeof(cliAddr);", "sock = socket(AF_INET, SOCK_DGRAM, 0);",
        "svrAddr.sin_family = AF_INET;", "svrAddr.sin_addr.s_addr = htonl(INADDR_ANY);",
        "svrAddr.sin_port = htons(",
        "bind(sock, (struct sockaddr *) &svrAddr, sizeof(svrAddr));", "for (;;) {",
        "recvfrom(sock, clientSentence, MAX_LINE, 0, (struct sockaddr *) &cliAddr, &cliLen);",
        "capitalize(clientSentence);",
        "sendto(sock, clientSentence, MAX_LINE, 0, (struct sockaddr *) &cliAddr, "
          + "sizeof(cliAddr));",
        "} close(sock); }",
      ],
      names: ["sock", "clientSentence", "svrAddr", "cliAddr", "cliLen"],
      drifted: ["servAddr", "msg", "while (1)", "= {0}"],
      kitCalls: ["getenv(", "setvbuf(", "int opt"]),
  ]
}

enum Fidelity {
  static func read(_ path: String) -> String {
    (try? String(contentsOf: Kit.root.appendingPathComponent(path), encoding: .utf8)) ?? ""
  }

  /// C without its comments, every run of white space one space.
  static func code(c text: String) -> String {
    text.replacing(/\/\*[\s\S]*?\*\//, with: " ").replacing(/\s+/, with: " ")
  }

  /// The lines of a C file, each with its code: the line less any comment, including
  /// one that began lines before.
  static func lines(c text: String) -> [(line: Substring, code: String)] {
    let uncommented = text.replacing(/\/\*[\s\S]*?\*\//) { comment in
      String(repeating: "\n", count: comment.output.filter { $0 == "\n" }.count)
    }
    return Array(
      zip(
        text.split(separator: "\n", omittingEmptySubsequences: false),
        uncommented.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)))
  }

  /// Swift without its comments, every run of white space one space.
  static func code(swift text: String) -> String {
    text.replacing(/\/\/[^\n]*/, with: " ").replacing(/\s+/, with: " ")
  }

  /// The identifiers in `code`: `sock_fd` is one, never `sock` and `fd`.
  static func identifiers(in code: String) -> Set<String> {
    Set(code.matches(of: /[A-Za-z_][A-Za-z0-9_]*/).map { String($0.output) })
  }

  /// Whether `name` occurs in `code` as a whole identifier (a form with punctuation,
  /// like `= {0}` or `h->`, as plain text).
  static func contains(_ code: String, _ name: String) -> Bool {
    name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
      ? identifiers(in: code).contains(name) : code.contains(name)
  }

  /// The names a Swift program declares with `var` or `let`.
  static func declared(in code: String) -> Set<String> {
    Set(
      code.matches(of: /(?:^|[^A-Za-z0-9_])(?:var|let) ([A-Za-z_][A-Za-z0-9_]*)/)
        .map { String($0.output.1) })
  }

  /// The first of `statements` not found after the one before it, or nil if all are.
  static func firstMissing(_ statements: [String], in code: String) -> String? {
    var rest = code[...]
    for statement in statements {
      guard let found = rest.range(of: statement) else { return statement }
      rest = rest[found.upperBound...]
    }
    return nil
  }

  /// The C library calls a program makes, in the order its text makes them; C's
  /// printf and fprintf under the names of the Swift that stands for them.
  static func calls(in code: String) -> [String] {
    code.matches(of: /([A-Za-z_][A-Za-z0-9_]*)\(/).map { String($0.output.1) }
      .filter { libraryCalls.contains($0) }
      .map { ["printf": "print", "fprintf": "fputs"][$0] ?? $0 }
  }

  static let libraryCalls: Set = [
    "socket", "setsockopt", "bind", "listen", "accept", "connect", "inet_pton",
    "gethostbyname", "send", "recv", "sendto", "recvfrom", "read", "write", "close",
    "memset", "bzero", "bcopy", "memcpy", "fgets", "strlen", "toupper", "capitalize",
    "perror", "exit", "printf", "fprintf", "print", "fputs", "setvbuf", "getenv", "atoi",
  ]
}

@Suite("fidelity", .timeLimit(.minutes(1)))
struct FidelityTests {
  @Test("programs.txt marks exactly these programs lecture (make check-c relaxes only them)")
  func markedInInventory() {
    let marked = Kit.programs.filter { $0.extras.contains("lecture") }.map(\.name)
    let faithful = FaithfulProgram.all.map { $0.path.replacingOccurrences(of: "/", with: "-") }
    #expect(Set(marked) == Set(faithful))
  }

  @Test(
    "the C keeps the lecture's statements, in the lecture's order", arguments: FaithfulProgram.all)
  func order(program: FaithfulProgram) {
    let code = Fidelity.code(c: program.c)
    #expect(!code.isEmpty, "CSources/\(program.path).c is missing")
    let missing = Fidelity.firstMissing(program.statements, in: code)
    #expect(missing == nil, "CSources/\(program.path).c: not found in order: \(missing ?? "")")
  }

  @Test(
    "the C declares the lecture's names, not the ones it drifted to", arguments: FaithfulProgram.all
  )
  func names(program: FaithfulProgram) {
    let code = Fidelity.code(c: program.c)
    for name in program.names {
      #expect(Fidelity.contains(code, name), "CSources/\(program.path).c lacks \(name)")
    }
    for name in program.drifted {
      #expect(!Fidelity.contains(code, name), "CSources/\(program.path).c has \(name)")
    }
  }

  @Test(
    "a slide program checks nothing: exit and perror only on a kit: line",
    arguments: FaithfulProgram.all.filter { $0.document == "001" })
  func unchecked(program: FaithfulProgram) {
    for (line, code) in Fidelity.lines(c: program.c) where !line.contains("kit:") {
      for check in ["exit(", "perror(", "herror(", "if ("] {
        #expect(!code.contains(check), "CSources/\(program.path).c: \(line)")
      }
    }
  }

  @Test("the kit's own lines say so", arguments: FaithfulProgram.all)
  func marked(program: FaithfulProgram) {
    let kitCalls = program.kitCalls + ["getenv(", "setvbuf("]
    for (line, code) in Fidelity.lines(c: program.c) {
      if kitCalls.contains(where: { code.contains($0) }) {
        #expect(line.contains("/* kit"), "CSources/\(program.path).c: \(line)")
      }
    }
  }

  @Test("the swift twin declares the C's names, and no others", arguments: FaithfulProgram.all)
  func twinNames(program: FaithfulProgram) {
    let swift = program.swift
    #expect(!swift.isEmpty, "Sources/swift/\(program.path).swift is missing")
    let code = Fidelity.code(swift: swift)
    let declared = Fidelity.declared(in: code)
    for name in program.names {
      #expect(
        declared.contains(name), "Sources/swift/\(program.path).swift does not declare \(name)")
    }
    for name in program.drifted {
      #expect(!Fidelity.contains(code, name), "Sources/swift/\(program.path).swift has \(name)")
    }
    // Every name the twin declares is one of the C's, but for the results of the
    // closures that stand for the C's casts.
    let c = Fidelity.identifiers(in: Fidelity.code(c: program.c))
    for name in declared.subtracting(["bound", "connected"]).sorted() {
      #expect(c.contains(name), "Sources/swift/\(program.path).swift declares \(name)")
    }
  }

  @Test("the swift twin calls the C's functions in the C's order", arguments: FaithfulProgram.all)
  func twinCalls(program: FaithfulProgram) {
    let c = Fidelity.calls(in: Fidelity.code(c: program.c))
    let swift = Fidelity.calls(in: Fidelity.code(swift: program.swift))
    #expect(!c.isEmpty)
    #expect(swift == c, "\(program.path): C \(c.joined(separator: " "))")
  }
}
