public import Foundation
import Synchronization
public import WeftCore
public import WeftSimKit

/// A stateful, in-memory Odoo (18 or 19) served over real HTTP: JSON-2, JSON-RPC and XML-RPC share one database.
///
/// Mount it on a router with ``addRoutes(to:)``; add the shared simulator admin routes with
/// `addSimulatorAdminRoutes(to:faults:log:)` using ``faults`` and ``requestLog``.
public final class OdooSimulator: Sendable {
    /// How the simulated Odoo is set up.
    public struct Configuration: Sendable {
        /// The Odoo major version to emulate: 19 (JSON-2, `error.code` 0) or 18 (no JSON-2, `error.code` 200).
        public var version: Int
        /// The single database name.
        public var database: String
        /// The admin user's login (uid 2).
        public var login: String
        /// API keys accepted as bearer tokens and as RPC passwords.
        public var apiKeys: [String]
        /// A password also accepted by `login`/`authenticate` and RPC calls.
        public var password: String?
        /// Emulate a database with Enterprise subscriptions (`sale.subscription.plan`, `sale.order.plan_id`, …).
        public var enterprise: Bool
        /// Emulate Odoo Accounting (`account_accountant`) with payment method lines that have no outstanding account, as
        /// a fresh database with Accounting has them: a registered payment gets no journal entry, stays `in_process`, and
        /// its invoice shows `in_payment` with its residual unchanged until a bank statement line is matched.
        public var accounting: Bool
        /// The wall clock used for `create_date`, invoice dates and sequence years.
        public var now: @Sendable () -> Date
        /// An Odoo Online release to report instead of the stable one (`"saas~18.3"`: `version_info`
        /// `["saas~18", 3, 0, "final", 0, "e"]`, `saas~18.3+e`), the database keeping `version`'s models and names. Odoo
        /// does not publish which names each Online release took from the next major, so a client has to ask the
        /// database; this lets a test see that it does.
        public var onlineRelease: String?

        /// - Parameters:
        ///   - version: 19 (default) or 18.
        ///   - database: the database name.
        ///   - login: the admin login.
        ///   - apiKeys: accepted API keys.
        ///   - password: an optional accepted password.
        ///   - enterprise: whether subscriptions exist.
        ///   - accounting: whether payments are registered without a journal entry (Odoo Accounting).
        ///   - now: the wall clock.
        public init(
            version: Int = 19, database: String = "odoo", login: String = "admin", apiKeys: [String] = ["weft-odoo-api-key"],
            password: String? = nil, enterprise: Bool = false, accounting: Bool = false,
            now: @escaping @Sendable () -> Date = { Date() }, onlineRelease: String? = nil
        ) {
            self.onlineRelease = onlineRelease
            self.version = version
            self.database = database
            self.login = login
            self.apiKeys = apiKeys
            self.password = password
            self.enterprise = enterprise
            self.accounting = accounting
            self.now = now
        }
    }

    /// One request as the simulator understood it.
    public struct Call: Sendable, Hashable, Codable {
        /// The HTTP method.
        public var method: String
        /// The request path.
        public var path: String
        /// `json2`, `jsonrpc`, `xmlrpc` or `http`.
        public var transport: String
        /// The RPC service (`common`, `object`, `db`), when there is one.
        public var service: String?
        /// The Odoo model called, when there is one.
        public var model: String?
        /// The Odoo method (`search_read`, `execute_kw` target, `authenticate`, …).
        public var odooMethod: String?
        /// The HTTP status answered.
        public var status: Int
        /// Milliseconds since the simulator was created (monotonic clock).
        public var atMs: Double

        enum CodingKeys: String, CodingKey {
            case method, path, transport, service, model, status
            case odooMethod = "odoo_method"
            case atMs = "at_ms"
        }
    }

    let configuration: Configuration
    let flavour: Flavour
    let state: Mutex<Database>
    /// The Online release reported now (`Configuration.onlineRelease` at first; `upgrade(toOnlineRelease:)` moves it).
    let release: Mutex<String?>
    let callLog = Mutex<[Call]>([])
    let start = ContinuousClock.now

    /// The fault injector applied to every Odoo route (set it over `POST /__sim/faults` or from Swift).
    public let faults: FaultInjector
    /// Every request served (method, path, status, time), shared with the WeftSimKit admin routes.
    public let requestLog: RequestLog

    /// Creates a simulator with a freshly seeded database.
    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        self.flavour = Flavour(
            major: configuration.version >= 19 ? 19 : 18, enterprise: configuration.enterprise, accounting: configuration.accounting)
        var db = Database(flavour: flavour)
        db.now = configuration.now()
        Seed.populate(&db, login: configuration.login)
        self.state = Mutex(db)
        self.faults = FaultInjector()
        self.requestLog = RequestLog()
        self.release = Mutex(configuration.onlineRelease)
    }

    /// Reports another Online release from now on, as Odoo Online upgrades a database in place under its clients (the
    /// models and names stay those of the simulator's version).
    public func upgrade(toOnlineRelease release: String) {
        self.release.withLock { $0 = release }
    }

    // MARK: - Inspection

    /// Every record of `model` (archived ones included), each with all its fields as `read` returns them.
    public func records(model: String) -> [[String: JSONValue]] {
        state.withLock { db in
            guard let rows = try? db.read(model, db.ids(model), fields: nil) else { return [] }
            return rows.compactMap { $0.json.objectValue }
        }
    }

    /// The ids matching an Odoo domain (given as JSON, e.g. `[["is_company", "=", true]]`), archived records included.
    /// - Throws: an error whose description is Odoo's message when the domain is invalid.
    public func search(model: String, domain: JSONValue = .array([])) throws -> [Int64] {
        try state.withLock { db throws(OdooError) in
            try db.search(model, domain: domain, CallContext(["active_test": .bool(false)]))
        }
    }

    /// How many records of `model` match `domain`, archived records included.
    public func count(model: String, domain: JSONValue = .array([])) throws -> Int {
        try search(model: model, domain: domain).count
    }

    /// Every request served, oldest first, with the Odoo model and method it addressed.
    public var calls: [Call] { callLog.withLock { $0 } }

    /// Forgets the recorded calls (the database is kept).
    public func resetCalls() {
        callLog.withLock { $0.removeAll() }
        requestLog.reset()
    }

    func record(_ call: Call) {
        callLog.withLock { $0.append(call) }
    }

    var elapsedMs: Double {
        let elapsed = start.duration(to: .now)
        return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
    }
}
