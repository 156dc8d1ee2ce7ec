import WeftSimKit

/// One record: its object, id and field values by canonical field name.
struct Record: Sendable {
    var type: String
    var id: String
    var fields: [String: JSON]

    var isDeleted: Bool { fields["IsDeleted"]?.bool == true }
    subscript(_ name: String) -> JSON { fields[name] ?? .null }
}

/// An access token's session.
struct Session: Sendable {
    var username: String
    var userID: String
    var lastUsed: Int
}

/// A query result being paged through `nextRecordsUrl`.
struct QueryCursor: Sendable {
    var records: [JSON]
    var batchSize: Int
    var lastUsed: Int
}

/// Everything the simulated org holds, kept under the simulator's lock: the schema, records, sessions, API usage,
/// query cursors and the outbound message queue. Every API call runs as one atomic change of this value.
struct SalesforceState: Sendable {
    struct Settings: Sendable {
        var organizationID: String
        var currencies: [String]
        var stages: [SalesforceSimulator.Stage]
        var sessionLifetimeMs: Int
        var dailyApiRequests: Int
        var childRecordsPerPage = 200
    }

    let schema: Schema
    let settings: Settings
    var now: Int
    var records: [String: Record] = [:]
    /// Ids per object in creation order.
    var order: [String: [String]] = [:]
    /// Line item ids per opportunity id.
    var linesByOpportunity: [String: [String]] = [:]
    private var serials: [String: Int] = [:]
    let pod: String
    var users: [String: String] = [:]
    var sessions: [String: Session] = [:]
    var apiUsed = 0
    var cursors: [String: QueryCursor] = [:]
    /// The user the current call runs as.
    var currentUserID: String
    /// Records created or changed by the current call: (type, id, isNew).
    var touched: [(type: String, id: String, isNew: Bool)] = []
    /// Records another transaction holds a lock on: updates fail with `UNABLE_TO_LOCK_ROW`.
    var locked: Set<String> = []
    var random: SplitMix64
    var outbound: OutboundQueue
    private(set) var standardPricebookID = ""

    init(schema: Schema, settings: Settings, now: Int, seed: UInt64, usernames: [String: String?], faultSeed: UInt64) {
        self.schema = schema
        self.settings = settings
        self.now = now
        var random = SplitMix64(seed: seed)
        let podAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        self.pod = "\(Int(random.next() % 9) + 1)" + String(podAlphabet[Int(random.next() % 26)])
        self.random = random
        self.currentUserID = ""
        self.outbound = OutboundQueue(seed: faultSeed)
        for (username, id) in usernames.sorted(by: { $0.key < $1.key }) {
            users[username] = id ?? nextID(prefix: "005")
        }
        if users.isEmpty { users["integration@weft.example"] = nextID(prefix: "005") }
        currentUserID = users.values.sorted().first ?? ""
        if let object = schema.object("Pricebook2") {
            var fields: [String: JSON] = ["Name": "Standard Price Book", "IsActive": true, "IsStandard": true]
            fields["Description"] = .null
            standardPricebookID = store(object, fields: fields, isNew: true)
            touched = []
        }
    }

    // MARK: Ids and time

    mutating func nextID(prefix: String) -> String {
        let serial = (serials[prefix] ?? (Int(random.next() % 5000) + 1000)) + 1
        serials[prefix] = serial
        return SalesforceID.make(prefix: prefix, pod: pod, serial: serial)
    }

    var stamp: JSON { .string(SalesforceTime.rest(now)) }

    /// The user id of `username`, created on first use.
    mutating func userID(for username: String) -> String {
        if let id = users[username] { return id }
        let id = nextID(prefix: "005")
        users[username] = id
        return id
    }

    // MARK: Reading

    /// The live (or, with `includeDeleted`, deleted) records of `type`, oldest first.
    func all(_ type: String, includeDeleted: Bool = false) -> [Record] {
        (order[type] ?? []).compactMap { records[$0] }.filter { includeDeleted || !$0.isDeleted }
    }

    /// The record's REST form: `attributes` then the fields (all, in describe order, or `only` those).
    func json(_ record: Record, version: String, only: [String]? = nil) -> JSON {
        guard let object = schema.object(record.type) else { return .null }
        var out = JSONObject([("attributes", attributes(record.type, record.id, version: version))])
        if let only {
            for name in only { if let field = object.field(name) { out[field.name] = record[field.name] } }
        } else {
            for field in object.fields { out[field.name] = record[field.name] }
        }
        return .object(out)
    }

    func attributes(_ type: String, _ id: String, version: String) -> JSON {
        ["type": .string(type), "url": .string("/services/data/v\(version)/sobjects/\(type)/\(id)")]
    }

    // MARK: Storing

    /// Adds a record with system fields filled in; returns its id.
    @discardableResult
    mutating func store(_ object: ObjectSchema, fields input: [String: JSON], isNew: Bool) -> String {
        let id = nextID(prefix: object.keyPrefix)
        var fields: [String: JSON] = [:]
        for field in object.fields { fields[field.name] = field.kind == .boolean ? .bool(false) : .null }
        if object.field("CurrencyIsoCode") != nil, let corporate = settings.currencies.first {
            fields["CurrencyIsoCode"] = .string(corporate)
        }
        for (name, value) in input { fields[name] = value }
        fields["Id"] = .string(id)
        fields["IsDeleted"] = false
        for name in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] { fields[name] = stamp }
        for name in ["CreatedById", "LastModifiedById"] { fields[name] = .string(currentUserID) }
        if object.field("OwnerId") != nil, fields["OwnerId"] == .null { fields["OwnerId"] = .string(currentUserID) }
        records[id] = Record(type: object.name, id: id, fields: fields)
        order[object.name, default: []].append(id)
        touched.append((object.name, id, isNew))
        return id
    }

    /// Marks a record changed now.
    mutating func bump(_ id: String) {
        guard var record = records[id] else { return }
        record.fields["LastModifiedDate"] = stamp
        record.fields["SystemModstamp"] = stamp
        record.fields["LastModifiedById"] = .string(currentUserID)
        records[id] = record
        if !record.isDeleted { touched.append((record.type, id, false)) }
    }
}
