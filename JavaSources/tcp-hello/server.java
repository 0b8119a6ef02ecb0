// tcp-hello server (lecture document 000, its Java version): accept one client, read
// one line, answer it, exit. Lines marked "kit:" are the kit's; the rest is the
// lecture's. The class is not public, so its file can be named after its role.
import java.io.*;
import java.net.*;

class TcpServer {
    public static void main(String[] args) throws IOException {
        int port = 8080;
        port = kitPort(port); // kit

        // try-with-resources closes every socket and stream however the block ends
        try (ServerSocket serverSocket = new ServerSocket(port)) {
            System.out.println("Server listening on port " + port);
            try (Socket clientSocket = serverSocket.accept();
                 BufferedReader in = new BufferedReader(
                         new InputStreamReader(clientSocket.getInputStream()));
                 PrintWriter out = new PrintWriter(clientSocket.getOutputStream(), true)) {
                System.out.println("Client connected");
                // Waits for a whole line: a client that sends no '\n' (the C one)
                // leaves it waiting here, until that client closes
                String message = in.readLine();
                System.out.println("Received: " + message);
                out.println("Hello from server"); // println: the reply ends with '\n'
            }
        }
    }

    // kit: KIT_PORT, when set, replaces the lecture's port
    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
