// The TLS module on its own: contexts refuse bad files with the kind that names them, and a server and
// a client stream finish a handshake over a socket pair, non-blocking, driven step by step.
import Glibc
import Posix
import TLS
import TestSupport
import Testing

@Suite struct TLSContextTests {
    let certificates = TestCertificates.shared

    @Test func badFilesAreRefusedByKind() throws {
        #expect(throws: TLSError.Kind.certificateFile) {
            try kindOf {
                _ = try TLSContext.server(
                    certificateChain: "/nonexistent", privateKey: certificates.serverKey, clientCA: nil)
            }
        }
        #expect(throws: TLSError.Kind.keyFile) {
            try kindOf {
                _ = try TLSContext.server(
                    certificateChain: certificates.serverCertificate, privateKey: certificates.ca, clientCA: nil)
            }
        }
        #expect(throws: TLSError.Kind.keyMismatch) {
            try kindOf {
                _ = try TLSContext.server(
                    certificateChain: certificates.serverCertificate, privateKey: certificates.otherServerKey,
                    clientCA: nil)
            }
        }
        #expect(throws: TLSError.Kind.clientCAFile) {
            try kindOf {
                _ = try TLSContext.server(
                    certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey,
                    clientCA: "/nonexistent")
            }
        }
    }

    @Test func handshakeOverASocketPairReadsTheClientCommonName() throws {
        let server = try TLSContext.server(
            certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey,
            clientCA: certificates.ca)
        let dev1 = certificates.client("dev-1")
        let client = try TLSContext.client(
            trusting: certificates.ca, certificate: dev1.certificate, privateKey: dev1.key)
        let (serverStream, clientStream, descriptors) = try pair(server, client)
        defer { for descriptor in descriptors { close(descriptor) } }
        try drive(serverStream, clientStream)
        #expect(serverStream.peerCommonName() == "dev-1")
        #expect(clientStream.peerCommonName() == "localhost")
        #expect(serverStream.protocolVersion == "TLSv1.3")
        #expect(!serverStream.isResumed)
    }

    @Test func aClientFromAnotherCAIsRefused() throws {
        let server = try TLSContext.server(
            certificateChain: certificates.serverCertificate, privateKey: certificates.serverKey,
            clientCA: certificates.ca)
        let rogue = certificates.client("rogue")
        let client = try TLSContext.client(
            trusting: certificates.ca, certificate: rogue.certificate, privateKey: rogue.key)
        let (serverStream, clientStream, descriptors) = try pair(server, client)
        defer { for descriptor in descriptors { close(descriptor) } }
        #expect(throws: TLSError.Kind.untrustedCertificate) { try kindOf { try drive(serverStream, clientStream) } }
    }

    /// A connected socket pair, non-blocking, with a server and a client stream on its ends.
    private func pair(_ server: TLSContext, _ client: TLSContext) throws -> (TLSStream, TLSStream, [Int32]) {
        var descriptors: [Int32] = [0, 0]
        try #require(
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0, &descriptors) == 0)
        return (
            try server.accept(DescriptorID(number: descriptors[0])),
            try client.connect(DescriptorID(number: descriptors[1]), serverName: "localhost"), descriptors
        )
    }

    /// Steps both handshakes until both are done (the pair's buffers are far larger than one flight).
    private func drive(_ server: TLSStream, _ client: TLSStream) throws(TLSError) {
        var serverDone = false
        var clientDone = false
        for _ in 0..<20 where !(serverDone && clientDone) {
            if !clientDone, case .done = try client.handshake() { clientDone = true }
            if !serverDone, case .done = try server.handshake() { serverDone = true }
        }
    }
}

/// Runs `body` and rethrows a TLSError as its kind, for `#expect(throws:)`.
private func kindOf(_ body: () throws -> Void) throws {
    do { try body() } catch let error as TLSError { throw error.kind }
}

extension TLSError.Kind: Error {}
