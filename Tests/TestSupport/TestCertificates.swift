// Certificates the TLS tests make with the openssl command line, once per test process, in a temp
// directory: a CA, a server certificate for 127.0.0.1/localhost, and client certificates — good ones,
// one from another CA, an expired one — plus a second server certificate for reload tests.
import Foundation

public struct TestCertificates: Sendable {
    public let directory: String

    /// The CA that signs the server's certificate and the good client certificates.
    public var ca: String { path("ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    /// Another certificate and key for the same names (CN "localhost-2"), to see a reload take effect.
    public var otherServerCertificate: String { path("server2.pem") }
    public var otherServerKey: String { path("server2.key") }
    /// A CA nobody trusts, and a client certificate for dev-1 it signed.
    public var otherCA: String { path("other-ca.pem") }

    /// Client certificate and key with subject CN `name`: "dev-1", "dev-2" (good), "rogue" (CN dev-1,
    /// signed by the other CA), "expired" (CN dev-1, valid only on 1 January 2020).
    public func client(_ name: String) -> (certificate: String, key: String) {
        (path("\(name).pem"), path("\(name).key"))
    }

    private func path(_ file: String) -> String { directory + "/" + file }

    /// A `[tls]` section with these certificates, listening on a kernel-picked loopback port unless told
    /// otherwise; every test daemon with TLS starts from this one text.
    public func tlsSection(
        listen: String = "127.0.0.1:0", clientCA: String = "", handshakeTimeout: String = "5s",
        certificate: String? = nil, key: String? = nil
    ) -> String {
        """
        [tls]
        listen = ["\(listen)"]
        certificate = "\(certificate ?? serverCertificate)"
        key = "\(key ?? serverKey)"
        client_ca = "\(clientCA)"
        handshake_timeout = "\(handshakeTimeout)"

        """
    }

    /// Made on first use; every test of the process shares them.
    public static let shared: TestCertificates = {
        do { return try make() } catch { fatalError("cannot make test certificates: \(error)") }
    }()

    private static func make() throws -> TestCertificates {
        let directory = temporaryDirectory().appendingPathComponent("certificates").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.environment = ["PATH": "/usr/bin:/bin", "DIR": directory]
        let log = directory + "/openssl.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw TestFailure.message("openssl failed (\(process.terminationStatus)):\n\(text)")
        }
        return TestCertificates(directory: directory)
    }

    /// P-256 keys: quick to make and to use. `openssl x509 -days` cannot start in the past, so the
    /// expired certificate comes from `openssl ca` with explicit start and end dates.
    private static let script = """
        set -e
        cd "$DIR"
        key='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes'
        openssl req -x509 $key -keyout ca.key -out ca.pem -days 3650 -subj /CN=heartbeatd-test-ca
        openssl req -x509 $key -keyout other-ca.key -out other-ca.pem -days 3650 -subj /CN=other-ca
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext
        sign() { # name cn ca [extfile]
            openssl req $key -keyout "$1.key" -out "$1.csr" -subj "/CN=$2"
            openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -CAcreateserial -out "$1.pem" -days 3650 \\
                ${4:+-extfile "$4"}
        }
        sign server localhost ca server.ext
        sign server2 localhost-2 ca server.ext
        sign dev-1 dev-1 ca
        sign dev-2 dev-2 ca
        sign rogue dev-1 other-ca
        openssl req $key -keyout expired.key -out expired.csr -subj /CN=dev-1
        mkdir -p ca-db && : > ca-db/index.txt && echo 1000 > ca-db/serial
        cat > ca.cnf <<'END'
        [ca]
        default_ca = test
        [test]
        database = ca-db/index.txt
        serial = ca-db/serial
        new_certs_dir = ca-db
        certificate = ca.pem
        private_key = ca.key
        default_md = sha256
        policy = any
        [any]
        commonName = supplied
        END
        openssl ca -batch -config ca.cnf -in expired.csr -out expired.pem -notext \\
            -startdate 20200101000000Z -enddate 20200102000000Z
        chmod 600 *.key
        """
}
