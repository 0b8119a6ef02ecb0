// udp-capitalize client (lecture document 001, the Kurose & Ross style slides' Java):
// send one line from standard input in a datagram, print the upper-cased answer.
// Lines marked "kit:" are the kit's; the rest is the slides'. "hostname" on the
// slide stands for the server's name: localhost here.
import java.io.*;
import java.net.*;

class UDPClient {
    public static void main(String args[]) throws Exception {
        BufferedReader inFromUser = new BufferedReader(new InputStreamReader(System.in));
        DatagramSocket clientSocket = new DatagramSocket();
        InetAddress IPAddress = InetAddress.getByName(kitHost("localhost")); // kit: kitHost

        byte[] sendData = new byte[1024];
        byte[] receiveData = new byte[1024];

        String sentence = inFromUser.readLine(); // the line without its '\n'
        sendData = sentence.getBytes();
        DatagramPacket sendPacket =
                new DatagramPacket(sendData, sendData.length, IPAddress, kitPort(9876)); // kit: kitPort
        clientSocket.send(sendPacket);

        DatagramPacket receivePacket = new DatagramPacket(receiveData, receiveData.length);
        clientSocket.receive(receivePacket);
        // The whole 1024-byte buffer, not the packet's length: NULs follow the text
        String modifiedSentence = new String(receivePacket.getData());
        System.out.println("FROM SERVER:" + modifiedSentence);
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
