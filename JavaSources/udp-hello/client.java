// udp-hello client (lecture document 000, its Java version): send one datagram,
// print the answer. Lines marked "kit:" are the kit's; the rest is the lecture's.
// The class is not public, so its file can be named after its role.
import java.io.*;
import java.net.*;

class UdpClient {
    public static void main(String[] args) throws IOException {
        String host = "127.0.0.1";
        int port = 8080;
        host = kitHost(host); // kit
        port = kitPort(port); // kit

        try (DatagramSocket socket = new DatagramSocket()) { // any free local port
            InetAddress address = InetAddress.getByName(host);
            byte[] message = "Hello from UDP client".getBytes();
            DatagramPacket packet = new DatagramPacket(message, message.length, address, port);
            socket.send(packet);

            // No timeout: a lost datagram leaves it waiting here forever
            byte[] buffer = new byte[1024];
            DatagramPacket response = new DatagramPacket(buffer, buffer.length);
            socket.receive(response);
            String reply = new String(response.getData(), 0, response.getLength());
            System.out.println("Received: " + reply);
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
