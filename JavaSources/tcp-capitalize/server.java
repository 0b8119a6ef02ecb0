// tcp-capitalize server (lecture document 001, the Kurose & Ross style slides' Java):
// accept a connection, read one line, send it back upper-cased, wait for the next
// one. Lines marked "kit:" are the kit's; the rest is the slides'.
import java.io.*;
import java.net.*;

class TCPServer {
    public static void main(String argv[]) throws Exception {
        String clientSentence;
        String capitalizedSentence;

        // The welcome socket: the door every client knocks on
        ServerSocket welcomeSocket = new ServerSocket(kitPort(6789)); // kit: kitPort

        while (true) {
            Socket connectionSocket = welcomeSocket.accept();
            BufferedReader inFromClient =
                    new BufferedReader(new InputStreamReader(connectionSocket.getInputStream()));
            DataOutputStream outToClient =
                    new DataOutputStream(connectionSocket.getOutputStream());
            clientSentence = inFromClient.readLine(); // null if the client sent nothing
            capitalizedSentence = clientSentence.toUpperCase() + '\n';
            outToClient.writeBytes(capitalizedSentence); // one write per character
            // The connection is never closed: the slide leaves it to the garbage collector
        }
    }

    // kit: KIT_PORT, when set, replaces the slide's port
    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
