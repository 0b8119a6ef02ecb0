// udp-hello server (lecture document 000, its Java version): answer every datagram
// that arrives, forever. Lines marked "kit:" are the kit's; the rest is the lecture's.
// The class is not public, so its file can be named after its role.
import java.io.*;
import java.net.*;

class UdpServer {
    public static void main(String[] args) throws IOException {
        int port = 8080;
        port = kitPort(port); // kit

        try (DatagramSocket socket = new DatagramSocket(port)) {
            byte[] buffer = new byte[1024];
            System.out.println("UDP server listening on port " + port);
            while (true) {
                DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet); // fills the buffer and the sender's address
                // Only the bytes that arrived: the packet knows its length
                String message = new String(packet.getData(), 0, packet.getLength());
                System.out.println("Received: " + message);
                byte[] response = "Message received".getBytes();
                DatagramPacket reply = new DatagramPacket(response, response.length,
                        packet.getAddress(), packet.getPort());
                socket.send(reply);
            }
        }
    }

    // kit: KIT_PORT, when set, replaces the lecture's port
    static int kitPort(int port) {
        String value = System.getenv("KIT_PORT");
        return value != null ? Integer.parseInt(value) : port;
    }
}
