import NIOCore
import NIOEmbedded
import Testing

@testable import WeftTools

/// The benchmark's lookup client reads HTTP/1.1 answers without a codec: a response split anywhere, several in one
/// read, any case of `Content-Length`, and one without a length (chunked) counted as a failure.
@Suite("Lookup load client parsing")
struct LookupLoadParsingTests {
    func run(_ reads: [String], total: Int) throws -> (ok: Int, failed: Int, written: Int) {
        let group = EmbeddedEventLoop()
        let promise = group.makePromise(of: (Int, Int, [Double]).self)
        let handler = LookupClientHandler(
            host: "h", token: "t", paths: ["stripe/cus_1"], total: total, progress: LookupProgress(), done: promise)
        let channel = EmbeddedChannel(handler: handler, loop: group)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for read in reads { try channel.writeInbound(ByteBuffer(string: read)) }
        var written = 0
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            #expect(String(buffer: buffer).hasPrefix("GET /v1/entitlements/stripe/cus_1 HTTP/1.1\r\n"))
            #expect(String(buffer: buffer).contains("\r\nAuthorization: Bearer t\r\n"))
            written += 1
        }
        _ = try? channel.finish()
        return (handler.ok, handler.failed, written)
    }

    let ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"tier\":1}\n"
    let missing = "HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"

    @Test func readsResponsesSplitAnywhereAndSeveralInOneRead() throws {
        let split = Array(ok)
        let result = try run(
            [String(split[0..<5]), String(split[5..<40]), String(split[40...]) + missing + ok], total: 4)
        #expect(result.ok == 2)
        #expect(result.failed == 1)
        #expect(result.written == 4)  // the first request, then one after each answer
    }

    @Test func aResponseWithoutALengthIsAFailureAndEndsTheConnection() throws {
        let result = try run(["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"], total: 3)
        #expect(result.ok == 0)
        #expect(result.failed == 1)
        #expect(result.written == 1)
    }
}
