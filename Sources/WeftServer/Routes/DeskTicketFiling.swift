public import WeftConnectors
public import WeftCore

/// Where a desk ticket is filed: under the billing account its organisation (Zendesk) or company (Freshdesk) is bound
/// to (the binding Weft recorded when it delivered the account there), else under the organisation itself
/// (`<desk system>/<organization|company>/<id>`, or `…/none` for a ticket without one), so nothing is lost and the
/// ticket can be found once the organisation is known.
///
/// Shared by the webhook (`DeskWebhookIngress`) and the catch-up (`DeskTicketFeed`), so a ticket lands under the same
/// key whichever way it arrives.
public struct DeskTicketFiling: Sendable {
    /// The desk's configured name.
    public let system: SystemName
    /// Zendesk or Freshdesk.
    public let desk: DeskTicket.Desk
    let store: any Store
    let billingSystems: Set<SystemName>

    /// - Parameters:
    ///   - system: the desk's configured name.
    ///   - desk: Zendesk or Freshdesk.
    ///   - store: where bindings are read.
    ///   - billingSystems: the billing systems whose customers are accounts.
    public init(system: SystemName, desk: DeskTicket.Desk, store: any Store, billingSystems: Set<SystemName>) {
        self.system = system
        self.desk = desk
        self.store = store
        self.billingSystems = billingSystems
    }

    /// The entity key of a ticket of `organization` (`nil`: a ticket without one).
    public func entityKey(organization: Int64?) async throws -> EntityKey {
        guard let organization else { return fallbackKey(organization: nil) }
        let accounts = try await store.boundSources(
            of: TargetRecordID(model: desk.accountModel, id: String(organization)), in: system)
        if let account = accounts.first(where: { $0.kind == .customer && billingSystems.contains($0.system) }) {
            return EntityKey.of(account)
        }
        return fallbackKey(organization: organization)
    }

    /// `<desk system>/<organization|company>/<id|none>`: the key of a ticket whose organisation no account is bound to.
    public func fallbackKey(organization: Int64?) -> EntityKey {
        EntityKey("\(system)/\(desk.accountModel)/\(organization.map(String.init) ?? "none")")
    }
}
