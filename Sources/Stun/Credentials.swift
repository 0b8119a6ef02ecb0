// The two digests STUN authentication needs, from libcrypto: no crypto is written here.

import CCrypto

/// The long-term credential key (RFC 8489 section 9.2.2): MD5 of "username:realm:password".
/// The RFC first passes username and password through OpaqueString (SASLprep), which
/// leaves ASCII as it is; this takes them as they are.
public func longTermKey(username: String, realm: [UInt8], password: String) -> [UInt8] {
  let text = Array(username.utf8) + Array(":".utf8) + realm + Array(":".utf8) + Array(password.utf8)
  var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
  var length: UInt32 = 0
  guard EVP_Digest(text, text.count, &digest, &length, EVP_md5(), nil) == 1 else {
    fatalError("libcrypto cannot compute MD5")  // a broken installation, not bad input
  }
  return Array(digest[..<Int(length)])
}

/// HMAC-SHA1 of `message` under `key`: MESSAGE-INTEGRITY's 20 bytes.
func hmacSHA1(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
  var mac = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
  var length: UInt32 = 0
  guard HMAC(EVP_sha1(), key, Int32(key.count), message, message.count, &mac, &length) != nil else {
    fatalError("libcrypto cannot compute HMAC-SHA1")
  }
  return Array(mac[..<Int(length)])
}
