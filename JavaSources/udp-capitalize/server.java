// udp-capitalize server (lecture document 001, the Kurose & Ross style slides' Java):
// every datagram goes back upper-cased to the address and port it came from. Lines
// marked "kit:" are the kit's; the rest is the slides'.
import java.io.*;
import java.net.*;

class UDPServer {
    public static void main(String args[]) throws Exception {
        DatagramSocket serverSocket = new DatagramSocket(kitPort(9876)); // kit: kitPort

        byte[] receiveData = new byte[1024];
        byte[] sendData = new byte[1024];

        while (true) {
            DatagramPacket receivePacket = new DatagramPacket(receiveData, receiveData.length);
            serverSocket.receive(receivePacket);
            // The whole buffer, not the packet's length: the reply is always 1024 bytes
            String sentence = new String(receivePacket.getData());
            InetAddress IPAddress = receivePacket.getAddress();
            int port = receivePacket.getPort();
            String capitalizedSentence = sentence.toUpperCase();
            sendData = capitalizedSentence.getBytes();
            DatagramPacket sendPacket =
                    new DatagramPacket(sendData, sendData.length, IPAddress, port);
            serverSocket.send(sendPacket);
        }
    }

    // kit: KIT_PORT, when set, replaces the slide's port
    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
