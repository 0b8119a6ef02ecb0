// tcp-capitalize client (lecture document 001, the Kurose & Ross style slides' Java):
// send one line from standard input, print the server's upper-cased answer. Lines
// marked "kit:" are the kit's; the rest is the slides'. "hostname" on the slide
// stands for the server's name: localhost here.
import java.io.*;
import java.net.*;

class TCPClient {
    public static void main(String argv[]) throws Exception {
        String sentence;
        String modifiedSentence;

        BufferedReader inFromUser = new BufferedReader(new InputStreamReader(System.in));
        Socket clientSocket = new Socket(kitHost("localhost"), kitPort(6789)); // kit: kitHost, kitPort
        // Unbuffered: writeBytes below sends each character in a write of its own
        DataOutputStream outToServer = new DataOutputStream(clientSocket.getOutputStream());
        BufferedReader inFromServer =
                new BufferedReader(new InputStreamReader(clientSocket.getInputStream()));

        sentence = inFromUser.readLine();
        outToServer.writeBytes(sentence + '\n');
        modifiedSentence = inFromServer.readLine(); // up to '\n' or the end of the stream
        System.out.println("FROM SERVER: " + modifiedSentence);
        clientSocket.close();
    }

    // kit: KIT_HOST and KIT_PORT, when set, replace the slide's host and port
    static String kitHost(String host) {
        String value = System.getenv("KIT_HOST");
        return value != null ? value : host;
    }

    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
