// tcp-hello client (lecture document 000, its Java version): connect, send one line,
// print the answer. Lines marked "kit:" are the kit's; the rest is the lecture's.
// The class is not public, so its file can be named after its role.
import java.io.*;
import java.net.*;

class TcpClient {
    public static void main(String[] args) throws IOException {
        String host = "127.0.0.1";
        int port = 8080;
        host = kitHost(host); // kit
        port = kitPort(port); // kit

        try (Socket socket = new Socket(host, port);
             BufferedReader in = new BufferedReader(
                     new InputStreamReader(socket.getInputStream()));
             PrintWriter out = new PrintWriter(socket.getOutputStream(), true)) {
            out.println("Hello from client"); // the line and its '\n', flushed at once
            // Waits for a '\n' or the end of the stream
            String response = in.readLine();
            System.out.println("Received: " + response);
        }
    }

    // kit: KIT_HOST and KIT_PORT, when set, replace the lecture's host and port
    static String kitHost(String host) {
        String value = System.getenv("KIT_HOST");
        return value != null ? value : host;
    }

    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
