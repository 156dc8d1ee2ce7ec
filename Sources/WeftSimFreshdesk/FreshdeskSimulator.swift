public import AsyncHTTPClient
import Foundation
import Synchronization
public import WeftSimKit

/// A stateful, in-memory Freshdesk (API v2) over real HTTP: companies with custom fields and unique names and
/// domains, the company search with its index lag, contacts, tickets, page links, the per-minute rate limit, and
/// automation rules that trigger webhooks with custom headers and retries.
///
/// Mount it with `addRoutes(to:)` and run `runDelivery()` for as long as webhooks should flow.
public final class FreshdeskSimulator: Sendable {
    /// The configuration the simulator was made with.
    public let configuration: Configuration
    /// API faults (latency, errors, 429s, outages), shared with `WeftSimKit`'s admin routes.
    public let faults: FaultInjector
    /// Every API request served.
    public let requestLog: RequestLog

    let httpClient: HTTPClient
    let state: Mutex<FreshdeskState>
    let deliveryLog = Mutex<[WebhookDelivery]>([])
    private let jobs: AsyncStream<WebhookJob>
    private let jobsContinuation: AsyncStream<WebhookJob>.Continuation
    private let deliveryRunning = Mutex(false)

    /// - Parameters:
    ///   - configuration: keys, limits, fields, webhooks, time and ids.
    ///   - httpClient: the client webhooks are sent with.
    public init(configuration: Configuration = .init(), httpClient: HTTPClient = .shared) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        self.state = Mutex(FreshdeskState(configuration: configuration))
        (jobs, jobsContinuation) = AsyncStream.makeStream(of: WebhookJob.self)
    }

    /// The current time in unix seconds.
    var now: Int {
        Int((configuration.now?() ?? Date()).timeIntervalSince1970)
    }

    /// Serves one API call: authentication, rate limit, the operation and its automations, atomically.
    func handle(_ request: FreshdeskRequest, authorization: String?) -> FreshdeskReply {
        guard authenticate(authorization) else { return FreshdeskReply(.invalidCredentials) }
        let now = self.now
        let (reply, queued) = state.withLock { state -> (FreshdeskReply, [WebhookJob]) in
            state.now = now
            let headers: [(String, String)]
            switch state.admit(credits: FreshdeskState.credits(request)) {
            case .failure(let error): return (FreshdeskReply(error), [])
            case .success(let admitted): headers = admitted
            }
            var reply: FreshdeskReply
            do throws(FreshdeskAPIError) {
                reply = try state.route(request)
            } catch {
                state.outbox.removeAll()
                reply = FreshdeskReply(error)
            }
            reply.headers += headers
            defer { state.outbox.removeAll() }
            return (reply, state.outbox)
        }
        for job in queued { jobsContinuation.yield(job) }
        return reply
    }

    /// Basic auth with a configured API key as the user name; the password is ignored.
    private func authenticate(_ authorization: String?) -> Bool {
        guard let authorization, authorization.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(authorization.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8)
        else { return false }
        let user = String(decoded.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        return configuration.apiKeys.contains(user)
    }

    // MARK: Swift API

    /// Calls the API without HTTP, authenticated with the first configured key.
    /// - Parameters:
    ///   - method: `GET`, `POST`, `PUT` or `DELETE`.
    ///   - path: e.g. `/api/v2/companies`.
    ///   - query: query parameters.
    ///   - body: the JSON body.
    /// - Returns: the status and the JSON body.
    public func call(_ method: String, _ path: String, query: [(String, String)] = [], body: String = "") -> (
        status: Int, body: [UInt8]
    ) {
        let key = configuration.apiKeys.first ?? ""
        let reply = handle(
            FreshdeskRequest(method: method.uppercased(), path: path, query: query, body: Array(body.utf8), host: "localhost"),
            authorization: "Basic " + Data("\(key):X".utf8).base64EncodedString())
        return (reply.status, reply.bodyBytes)
    }

    /// Defines a custom company field (as an admin would in Admin > Support Operations > Company Fields).
    public func defineCompanyField(_ field: CustomField) {
        state.withLock { state in
            state.fieldCreatedAt["company:\(field.name)"] = state.now
            state.companyFields.removeAll { $0.name == field.name }
            state.companyFields.append(field)
        }
    }

    /// Moves a ticket to the Spam folder, as an agent (or a rule) does in the UI; the public API has no call for it.
    /// - Returns: whether the ticket exists.
    @discardableResult
    public func markTicketAsSpam(_ id: Int) -> Bool {
        let now = self.now
        return state.withLock { state in
            guard var ticket = state.tickets[id] else { return false }
            ticket.spam = true
            ticket.updatedAt = now
            state.tickets[id] = ticket
            return true
        }
    }

    /// The custom company fields defined now.
    public var companyFields: [CustomField] { state.withLock { $0.companyFields } }

    /// Every webhook attempt so far, oldest first.
    public var webhookDeliveries: [WebhookDelivery] { deliveryLog.withLock { $0 } }

    // MARK: Webhook sender

    /// Sends automation webhooks until the calling task is cancelled: each one is `POST`ed with the rule's custom
    /// headers and retried after each of `webhookRetryDelays` while it fails. Call it once per simulator.
    public func runDelivery() async throws {
        let alreadyRunning = deliveryRunning.withLock { running in
            defer { running = true }
            return running
        }
        guard !alreadyRunning else {
            throw FreshdeskSimulatorError(message: "runDelivery() is already running for this simulator")
        }
        await withDiscardingTaskGroup { group in
            for await job in jobs {
                group.addTask { await self.deliver(job) }
            }
        }
    }
}

/// One webhook attempt, as `GET /__sim/webhooks` lists it.
public struct WebhookDelivery: Sendable, Hashable, Codable {
    /// The rule's index in `Configuration.webhooks`.
    public var rule: Int
    public var url: String
    public var ticketID: Int
    /// `ticket_created` or `ticket_updated`.
    public var event: String
    /// 1 for the first attempt.
    public var attempt: Int
    /// The receiver's status; `nil` when it could not be reached or timed out.
    public var status: Int?
    public var succeeded: Bool
    /// The body sent.
    public var body: String

    enum CodingKeys: String, CodingKey {
        case rule, url, event, attempt, status, succeeded, body
        case ticketID = "ticket_id"
    }
}

/// A misuse of the simulator's Swift API.
public struct FreshdeskSimulatorError: Error, CustomStringConvertible {
    /// What went wrong.
    public var message: String
    public var description: String { message }
}
