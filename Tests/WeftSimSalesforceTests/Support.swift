import AsyncHTTPClient
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import WeftSimKit
import _CryptoExtras

@testable import WeftSimSalesforce

typealias JSON = SimJSON

let consumerKey = "3MVG9weft.consumer.key"
let username = "integration@weft.example"
let clientSecret = "cc-secret-1234"
let api = "/services/data/v62.0"

/// A clock the test moves by hand (unix milliseconds).
final class TestClock: Sendable {
    private let ms: Mutex<Int>
    init(_ start: Int = 1_717_200_000_000) { ms = Mutex(start) }
    var now: Int { ms.withLock { $0 } }
    var seconds: Int { now / 1000 }
    func advance(ms by: Int) { ms.withLock { $0 += by } }
}

/// The connected app's certificate key, made once per test process (2048-bit generation is slow).
let signingKey: _RSA.Signing.PrivateKey = try! _RSA.Signing.PrivateKey(keySize: .bits2048)

func base64URL(_ bytes: some Sequence<UInt8>) -> String {
    Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        .replacingOccurrences(of: "=", with: "")
}

/// An RS256 JWT bearer assertion, built by hand.
func assertion(
    iss: String = consumerKey, sub: String = username, aud: String = "https://login.salesforce.com", exp: Int,
    key: _RSA.Signing.PrivateKey = signingKey, alg: String = "RS256"
) throws -> String {
    let header = base64URL(Array(#"{"alg":"\#(alg)"}"#.utf8))
    let claims = base64URL(Array(#"{"iss":"\#(iss)","sub":"\#(sub)","aud":"\#(aud)","exp":\#(exp)}"#.utf8))
    let signature = try key.signature(for: Array("\(header).\(claims)".utf8), padding: .insecurePKCS1v1_5)
    return "\(header).\(claims).\(base64URL(signature.rawRepresentation))"
}

func makeSimulator(
    clock: TestClock = TestClock(), dailyApiRequests: Int = 15_000, outbound: [SalesforceSimulator.OutboundMessage] = [],
    delivery: SalesforceSimulator.Delivery = .init(retryBaseDelay: .seconds(10)), childRecordsPerPage: Int = 200,
    stateAndCountryPicklists: Bool = false
) -> SalesforceSimulator {
    SalesforceSimulator(
        configuration: .init(
            apiVersions: ["59.0", "60.0", "61.0", "62.0"],
            connectedApps: [
                consumerKey: .init(
                    jwtPublicKeyPEM: signingKey.publicKey.pemRepresentation, preAuthorizedUsernames: [username],
                    clientSecret: clientSecret, clientCredentialsRunAs: username)
            ],
            sessionLifetime: .seconds(3600), dailyApiRequests: dailyApiRequests, outboundMessages: outbound, delivery: delivery,
            idSeed: 42, now: { clock.now }, childRecordsPerPage: childRecordsPerPage,
            stateAndCountryPicklists: stateAndCountryPicklists))
}

/// An HTTP answer, read fully.
struct Answer: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String
    var json: JSON { (try? JSON.parse(Array(body.utf8))) ?? .null }
    func header(_ name: String) -> String? { headers.first(name: name) }
}

func request(
    _ method: HTTPMethod, _ url: String, json body: String? = nil, form: String? = nil, token: String? = nil,
    headers extra: [(String, String)] = []
) async throws -> Answer {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    for (name, value) in extra { request.headers.add(name: name, value: value) }
    if let body {
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
    } else if let form {
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
    }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let bytes = try await response.body.collect(upTo: 16 << 20)
    return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
}

func formEncode(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// Gets a token with the JWT bearer flow.
func login(_ base: String, clock: TestClock) async throws -> String {
    let jwt = try assertion(exp: clock.seconds + 120)
    let answer = try await request(
        .POST, base + "/services/oauth2/token",
        form: "grant_type=\(formEncode("urn:ietf:params:oauth:grant-type:jwt-bearer"))&assertion=\(jwt)")
    guard let token = answer.json["access_token"].string else { throw TestFailure("login failed: \(answer.body)") }
    return token
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Serves `simulator` on a free port for `body`, which gets the base URL and a token.
func withOrg<T: Sendable>(
    _ simulator: SalesforceSimulator, clock: TestClock, _ body: @escaping @Sendable (String, String) async throws -> T
) async throws -> T {
    let router = Router()
    simulator.addRoutes(to: router)
    return try await SimulatorServer.withRunning(router: router, logger: Logger(label: "test.salesforce")) { port in
        let base = "http://127.0.0.1:\(port)"
        return try await body(base, try await login(base, clock: clock))
    }
}

/// Quotes a SOQL query for a URL.
func soql(_ query: String) -> String { formEncode(query) }

/// A SOAP listener for outbound messages: answers the n-th call with `answer(n)` (status, body).
final class Listener: Sendable {
    struct Received: Sendable {
        var contentType: String?
        var soapAction: String?
        var body: String
    }

    private let calls = Mutex(0)
    private let received = Mutex<[Received]>([])
    private let answer: @Sendable (Int) -> (Int, String)

    static let ack =
        #"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#
    static let nack = ack.replacingOccurrences(of: "<Ack>true</Ack>", with: "<Ack>false</Ack>")

    init(answer: @escaping @Sendable (Int) -> (Int, String) = { _ in (200, Listener.ack) }) { self.answer = answer }

    var requests: [Received] { received.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/om/opportunity") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let n = self.calls.withLock {
                $0 += 1
                return $0
            }
            self.received.withLock {
                $0.append(
                    Received(
                        contentType: request.headers[.contentType], soapAction: request.headers[.init("SOAPAction")!],
                        body: String(buffer: body)))
            }
            let (status, text) = self.answer(n)
            return Response(
                status: .init(code: status), headers: [.contentType: "text/xml; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return router
    }
}

/// Whether `keys` appear as JSON keys in `body` in this order (the parsed value does not keep member order).
func inOrder(_ body: String, _ keys: [String]) -> Bool {
    var rest = Substring(body)
    for key in keys {
        guard let range = rest.range(of: "\"\(key)\":") else { return false }
        rest = rest[range.upperBound...]
    }
    return true
}
