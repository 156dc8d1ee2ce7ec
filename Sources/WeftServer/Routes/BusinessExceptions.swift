public import WeftCore
public import WeftRuntime

/// One business exception: something a person must fix in a source or target system before Weft can finish a job.
public struct BusinessException: Sendable, Hashable, Codable {
    /// `deal_incomplete` (a won deal misses what an order needs), `deal_not_in_erp` (the ERP refused the order),
    /// `account_ambiguous` (several ERP records match an account: a person must choose), `account_not_synced` (a target
    /// refused an account sync).
    public var type: String
    /// The record to fix (`hubspot/deal/123`).
    public var subject: String
    /// What to fix, one line each.
    public var problems: [String]

    public init(type: String, subject: String, problems: [String]) {
        self.type = type
        self.subject = subject
        self.problems = problems
    }
}

/// Lists the open business exceptions from the store, derived from current state, so an exception disappears as soon
/// as the record is fixed (no acknowledgement needed):
/// - every won deal of a CRM that misses a configured requirement (`DealRequirements`), read from the deals'
///   aggregates;
/// - every dead `upsert_order` command whose deal has no order in the target yet (a later command that delivered the
///   order — after the SKU was fixed — resolves it);
/// - every dead command of the billing-to-ERP path (a payment, invoice, refund, standing or customer the ERP refused,
///   e.g. a payment Odoo holds for less than billing says), one per record, with the target's reason: the same dead
///   letters the `weft_business_exceptions` gauge counts by type. A replay that delivers it resolves it.
public struct BusinessExceptions: Sendable {
    let store: any Store
    let requirements: [SystemName: DealRequirements]
    let crmSystems: [SystemName]

    public init(store: any Store, requirements: [SystemName: DealRequirements], crmSystems: [SystemName]) {
        self.store = store
        self.requirements = requirements
        self.crmSystems = crmSystems
    }

    /// The builder for a configuration: its CRM systems and their requirements.
    public init(store: any Store, configuration: WeftConfiguration) {
        let requirements = Self.requirements(of: configuration)
        self.init(store: store, requirements: requirements, crmSystems: requirements.keys.sorted())
    }

    /// What the won deals of each CRM (HubSpot, Salesforce) of `configuration` must carry.
    static func requirements(of configuration: WeftConfiguration) -> [SystemName: DealRequirements] {
        var requirements: [SystemName: DealRequirements] = [:]
        for (name, system) in configuration.systems {
            switch system {
            case .hubspot(let hubspot): requirements[name] = hubspot.requirements
            case .salesforce(let salesforce): requirements[name] = salesforce.requirements
            case .stripe, .chargebee, .odoo, .desk: break
            }
        }
        return requirements
    }

    /// The open exceptions, at most `limit`, incomplete deals first (by key), then refused orders (newest first).
    public func list(limit: Int = 1000) async throws -> [BusinessException] {
        var result: [BusinessException] = []
        let router = CommandRouter(flows: [], ownership: .init(), dealRequirements: requirements)
        for crm in crmSystems {
            var after: EntityKey?
            while result.count < limit {
                let keys = try await store.aggregateKeys(prefix: "\(crm)/deal/", after: after, limit: 500)
                guard let last = keys.last else { break }
                after = last
                let aggregates = try await store.loadAggregates(keys)
                for key in keys {
                    guard let aggregate = aggregates[key]?.aggregate else { continue }
                    for (deal, problems) in router.incompleteDeals(in: aggregate) {
                        result.append(BusinessException(type: "deal_incomplete", subject: deal.ref.description, problems: problems))
                    }
                }
                if keys.count < 500 { break }
            }
        }
        var dead = try await store.listCommands(filter: CommandFilter(status: .dead, kind: "upsert_order"), limit: limit)
        dead += try await store.listCommands(filter: CommandFilter(status: .dead, kind: "sync_account"), limit: limit)
        var seen: Set<String> = []
        for record in dead where result.count < limit {
            let subject = record.command.payload.subject
            guard seen.insert("\(record.command.target)|\(subject)").inserted,
                try await store.binding(of: subject, in: record.command.target) == nil
            else { continue }
            let isOrder = record.command.payload.kind == "upsert_order"
            let refused = isOrder ? "the order" : "the account"
            let problem = record.lastError ?? "\(record.command.target) refused \(refused)"
            // Identity resolution found several records that could be this account: a person must choose.
            let type =
                problem.contains("ambiguous match") ? "account_ambiguous" : isOrder ? "deal_not_in_erp" : "account_not_synced"
            result.append(BusinessException(type: type, subject: subject.description, problems: [problem]))
        }
        for kind in WeftMetrics.ledgerCommandKinds where result.count < limit {
            var ledger: Set<String> = []
            for record in try await store.listCommands(filter: CommandFilter(status: .dead, kind: kind), limit: limit)
            where result.count < limit {
                let subject = record.command.payload.subject
                guard ledger.insert("\(record.command.target)|\(subject)").inserted else { continue }
                result.append(
                    BusinessException(
                        type: WeftMetrics.businessException(forDeadCommandKind: kind), subject: subject.description,
                        problems: [record.lastError ?? "\(record.command.target) refused it"]))
            }
        }
        return Array(result.prefix(limit))
    }

    /// Counts by type, for the `weft_business_exceptions` gauge: the CRM types, which only this list tells apart (a dead
    /// order or account sync is `account_ambiguous` when identity found several partners, else `deal_not_in_erp` or
    /// `account_not_synced`, and neither once its record was delivered since). They replace what the store's dead
    /// counts by kind gave those types, so that an exception is counted once, under the type the list shows.
    public func counts() async throws -> [String: Int] {
        var counts: [String: Int] = ["deal_incomplete": 0, "account_ambiguous": 0, "deal_not_in_erp": 0, "account_not_synced": 0]
        for exception in try await list(limit: 100_000) where counts[exception.type] != nil {
            counts[exception.type, default: 0] += 1
        }
        return counts
    }
}
