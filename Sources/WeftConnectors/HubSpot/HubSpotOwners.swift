package import Foundation
package import Logging
import NIOHTTP1
import Synchronization
import WeftCore

/// A HubSpot owner (a user records can be assigned to): `id` is what `hubspot_owner_id` holds; `userId` is the
/// user's id in the settings API and cannot be used to assign records.
package struct HubSpotOwner: Sendable, Hashable {
    package var id: String
    package var email: String?
    package var firstName: String?
    package var lastName: String?
    package var userID: Int64?
    package var archived: Bool

    /// Parses `{"id","email","type","firstName","lastName","userId","userIdIncludingInactive","createdAt",
    /// "updatedAt","archived","teams":[…]}`.
    init?(json: JSONValue) {
        guard let id = HubSpotClient.idText(json["id"]) else { return nil }
        self.id = id
        self.email = json["email"]?.stringValue
        self.firstName = json["firstName"]?.stringValue
        self.lastName = json["lastName"]?.stringValue
        self.userID = json["userId"]?.intValue
        self.archived = json["archived"]?.boolValue ?? false
    }
}

extension HubSpotClient {
    /// The owners API's prefix: the objects prefix with `objects` replaced by `owners` (`/crm/v3/objects` →
    /// `/crm/v3/owners`, `/crm/objects/2025-09` → `/crm/owners/2025-09`).
    var ownersPath: String {
        configuration.objectsPath.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0 == "objects" ? "owners" : String($0) }.joined(separator: "/")
    }

    /// `GET {owners}/{ownerId}`: the owner with this id, `nil` when HubSpot has none (404).
    package func owner(id: String, logger: Logger) async throws(HubSpotAPIError) -> HubSpotOwner? {
        guard !id.isEmpty, id.allSatisfy(\.isNumber) else { return nil }
        do {
            return HubSpotOwner(json: try await send(.GET, "\(ownersPath)/\(id)", body: nil, type: nil, logger: logger))
        } catch  where error.kind == .notFound {
            return nil
        }
    }

    /// `GET {owners}?email=…`: the active owners with this email (HubSpot matches it exactly), following
    /// `paging.next.after`.
    package func owners(email: String, logger: Logger) async throws(HubSpotAPIError) -> [HubSpotOwner] {
        // RFC 3986's unreserved characters only: `.alphanumerics` would let a non-ASCII letter of an internationalized
        // address into the URL unescaped.
        let encoded = FormEncoding.escape(email)
        var owners: [HubSpotOwner] = []
        var after: String?
        repeat {
            var path = "\(ownersPath)?email=\(encoded)&limit=100"
            if let after { path += "&after=\(FormEncoding.escape(after))" }
            let answer = try await send(.GET, path, body: nil, type: nil, logger: logger)
            owners.append(contentsOf: (answer["results"]?.arrayValue ?? []).compactMap(HubSpotOwner.init(json:)))
            after = answer["paging"]?["next"]?["after"]?.stringValue
        } while after != nil
        return owners
    }
}

/// Owner ids ↔ emails, cached: an account's owner is its owner's email in Weft, `hubspot_owner_id` in HubSpot.
/// Entries are kept for `maximumAge` (owners change rarely; a renamed email is seen after that).
package final class HubSpotOwnerDirectory: Sendable {
    private struct Entry: Sendable {
        var value: String?
        var fetchedAt: Date
    }

    private let client: HubSpotClient
    private let maximumAge: TimeInterval
    private let now: @Sendable () -> Date
    private let emailByID = Mutex<[String: Entry]>([:])
    private let idByEmail = Mutex<[String: Entry]>([:])

    /// - Parameters:
    ///   - client: the HubSpot client.
    ///   - maximumAge: how long an answer is reused (default one hour).
    ///   - now: the clock.
    package init(client: HubSpotClient, maximumAge: TimeInterval = 3600, now: @escaping @Sendable () -> Date = Date.init) {
        self.client = client
        self.maximumAge = maximumAge
        self.now = now
    }

    /// The emails of these owner ids (ids HubSpot does not know, or owners without an email, are absent).
    package func emails(ids: some Sequence<String>, logger: Logger) async throws(HubSpotAPIError) -> [String: String] {
        var result: [String: String] = [:]
        for id in Set(ids).sorted() {
            if let cached = fresh(emailByID, id) {
                result[id] = cached.value
                continue
            }
            let email = try await client.owner(id: id, logger: logger)?.email?.lowercased()
            store(emailByID, id, email)
            if let email { store(idByEmail, email, id) }
            result[id] = email
        }
        return result
    }

    /// The id of the active owner with this email (case-insensitive), `nil` when there is none.
    package func ownerID(email: String, logger: Logger) async throws(HubSpotAPIError) -> String? {
        let key = email.lowercased()
        if let cached = fresh(idByEmail, key) { return cached.value }
        let owners = try await client.owners(email: key, logger: logger)
        let id = owners.filter { !$0.archived && $0.email?.lowercased() == key }.map(\.id).min(by: HubSpotDealReader.idOrder)
        store(idByEmail, key, id)
        if let id { store(emailByID, id, key) }
        return id
    }

    private func fresh(_ cache: borrowing Mutex<[String: Entry]>, _ key: String) -> Entry? {
        let now = self.now()
        return cache.withLock { entries in
            guard let entry = entries[key], now.timeIntervalSince(entry.fetchedAt) < maximumAge else { return nil }
            return entry
        }
    }

    private func store(_ cache: borrowing Mutex<[String: Entry]>, _ key: String, _ value: String?) {
        let entry = Entry(value: value, fetchedAt: now())
        cache.withLock { $0[key] = entry }
    }
}
