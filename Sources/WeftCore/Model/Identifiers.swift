/// The name of a configured external system, e.g. `stripe` or `odoo` (the key under `systems:` in the config).
public struct SystemName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral, Comparable
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: SystemName, rhs: SystemName) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The kinds of record the canonical model knows.
public enum EntityKind: String, Sendable, Codable, CaseIterable, Hashable {
    case customer, product, price, subscription, invoice, payment, refund
    /// A support desk's ticket, linked to the account its organisation or company shows.
    case ticket
    /// A CRM deal (HubSpot deal, Salesforce opportunity): won, it becomes a confirmed sales order in the ERP.
    case deal
    /// A CRM company, kept in step with its ERP partner in both directions (`Account`).
    case account
    /// A person of a CRM account (`Contact`).
    case contact
}

/// A record in one external system: which system, which kind of record, and the system's own id for it.
public struct ExternalRef: Hashable, Sendable, Codable, CustomStringConvertible {
    public var system: SystemName
    public var kind: EntityKind
    public var id: String

    public init(system: SystemName, kind: EntityKind, id: String) {
        self.system = system
        self.kind = kind
        self.id = id
    }

    /// `stripe/customer/cus_123`.
    public var description: String { "\(system)/\(kind.rawValue)/\(id)" }

    /// The external id Weft stores in a target for this record, without module: `stripe_customer_cus_123`.
    ///
    /// Characters outside `[A-Za-z0-9_]` become `_` so the name is a valid Odoo xmlid.
    public var xmlidName: String {
        let raw = "\(system.rawValue)_\(kind.rawValue)_\(id)"
        // Printable ASCII is one character per byte, so a byte-wise map gives the same name without the Unicode
        // property lookups of `Character` (the delivery loop computes this name for every command it sends).
        var bytes = Array(raw.utf8)
        guard bytes.allSatisfy({ (0x20...0x7E).contains($0) }) else {
            return String(raw.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        }
        for index in bytes.indices {
            switch bytes[index] {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
                continue
            default: bytes[index] = UInt8(ascii: "_")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The full external id, `weft.stripe_customer_cus_123`.
    public var xmlid: String { "weft.\(xmlidName)" }
}

/// The key that serialises processing: events and commands with the same key are handled one at a time, in order.
public struct EntityKey: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// The key of everything that belongs to one external record (e.g. all events of one Stripe customer).
    public static func of(_ ref: ExternalRef) -> EntityKey { EntityKey("\(ref.system)/\(ref.kind.rawValue)/\(ref.id)") }

    /// The provisional key of an event that names a charge but not its customer (a Stripe refund in older API
    /// versions): `stripe/charge/ch_1`. The customer's aggregate claims it as an alias once it knows the charge.
    public static func charge(_ id: String, system: SystemName) -> EntityKey { EntityKey("\(system)/charge/\(id)") }

    /// Whether this is the key of a customer (`<system>/customer/<id>`): the only keys that adopt aliases.
    public var isCustomer: Bool { customerRef != nil }

    /// The customer whose key this is, when it is a customer's key.
    public var customerRef: ExternalRef? {
        let parts = rawValue.split(separator: "/", maxSplits: 2)
        guard parts.count == 3, parts[1] == "customer" else { return nil }
        return ExternalRef(system: SystemName(String(parts[0])), kind: .customer, id: String(parts[2]))
    }
}

/// A source's own id for an event (Stripe `evt_…`); the dedup key together with the system.
public struct SourceEventID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// The store's id of an inbox event. Time-ordered (monotonic), so it is also the arrival order.
public struct EventSeq: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: EventSeq, rhs: EventSeq) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The store's id of an outbox command.
public struct CommandID: RawRepresentable, Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: CommandID, rhs: CommandID) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The idempotency key of a command: unique in the outbox, and the key the target stores to make creates upserts.
public struct IdempotencyKey: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
}

/// One trace id follows an event from the webhook to every target call.
public struct TraceID: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// A new random 128-bit trace id in W3C hex form (32 lowercase hex digits).
    public static func random() -> TraceID {
        var generator = SystemRandomNumberGenerator()
        return TraceID(hex((generator.next(), generator.next())))
    }

    /// The bytes of `value` in memory order as lowercase hex.
    static func hex(_ value: (UInt64, UInt64)) -> String {
        withUnsafeBytes(of: value) { source in
            String(unsafeUninitializedCapacity: source.count * 2) { target in
                let digits: StaticString = "0123456789abcdef"
                for (index, byte) in source.enumerated() {
                    target[index * 2] = digits.utf8Start[Int(byte >> 4)]
                    target[index * 2 + 1] = digits.utf8Start[Int(byte & 0x0f)]
                }
                return source.count * 2
            }
        }
    }
}

/// A record's id in a target system, e.g. Odoo `res.partner` 42.
public struct TargetRecordID: Hashable, Sendable, Codable, CustomStringConvertible {
    public var model: String
    public var id: String
    public init(model: String, id: String) {
        self.model = model
        self.id = id
    }
    public var description: String { "\(model)#\(id)" }
}
