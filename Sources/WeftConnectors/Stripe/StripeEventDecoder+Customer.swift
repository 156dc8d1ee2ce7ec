import Foundation
import WeftCore

extension StripeEventDecoder {
    /// `customer.created|updated|deleted` → Customer. An update is a full snapshot (nulls clear); a deletion only
    /// sets `deleted`.
    func decodeCustomer(_ context: Context, deleted: Bool) throws(StripeEventError) -> DecodedEvent {
        let (event, prior) = try context.wireWithPrior(StripeWireCustomer.self)
        let customer = event.data.object
        let fields = customerFields(customer, deleted: deleted)
        let change = CanonicalChange(
            ref: values.externalRef(.customer, customer.id), fields: fields, version: context.version(event.created))
        return context.changes([context.refined(change, before: prior.map { customerFields($0, deleted: deleted) })])
    }

    func customerFields(_ customer: StripeWireCustomer, deleted: Bool) -> [String: JSONValue] {
        typealias V = StripeCanonicalValues
        var fields: [String: JSONValue] = ["ref": values.ref(.customer, customer.id)]
        if deleted || customer.deleted == true {
            fields["deleted"] = true
        } else {
            fields["name"] = V.string(customer.name)
            fields["email"] = V.string(customer.email)
            fields["phone"] = V.string(customer.phone)
            fields["address"] = Self.address(customer.address)
            fields["currency"] = V.string(V.currency(customer.currency)?.rawValue)
            // `tax_ids` is only there when expanded; absent means "not said", not "none".
            if let taxIDs = customer.tax_ids?.data { fields["taxID"] = V.string(Self.preferredTaxID(taxIDs)?.value) }
        }
        return fields
    }

    /// `customer.tax_id.created|updated` → the customer's `taxID`.
    func decodeTaxID(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWireTaxID.self)
        let taxID = event.data.object
        guard let customerID = taxID.customer?.id else { return context.ignored("tax id without a customer") }
        guard let value = taxID.value else { return context.ignored("tax id without a value") }
        let fields: [String: JSONValue] = ["ref": values.ref(.customer, customerID), "taxID": .string(value)]
        let ref = values.externalRef(.customer, customerID)
        return context.changes([CanonicalChange(ref: ref, fields: fields, version: context.version(event.created))])
    }

    /// `product.created|updated|deleted` → Product (name, sku from `metadata.sku` else the id, active; the unit
    /// amount when `default_price` is expanded). A deleted product becomes inactive.
    func decodeProduct(_ context: Context, deleted: Bool) throws(StripeEventError) -> DecodedEvent {
        let (event, prior) = try context.wireWithPrior(StripeWireProduct.self)
        let product = event.data.object
        let change = CanonicalChange(
            ref: values.externalRef(.product, product.id), fields: productFields(product, deleted: deleted),
            version: context.version(event.created))
        return context.changes([context.refined(change, before: prior.map { productFields($0, deleted: deleted) })])
    }

    func productFields(_ product: StripeWireProduct, deleted: Bool) -> [String: JSONValue] {
        typealias V = StripeCanonicalValues
        var fields: [String: JSONValue] = ["ref": values.ref(.product, product.id)]
        if deleted || product.deleted == true {
            fields["active"] = false
        } else {
            fields["name"] = V.string(product.name)
            fields["sku"] = .string(product.metadata?["sku"] ?? product.id)
            fields["active"] = V.bool(product.active)
            if let price = product.default_price?.price,
                let money = V.money(price.unitAmountMinor, V.currency(price.currency))
            {
                fields["unitAmount"] = money
            }
        }
        return fields
    }

    /// `price.created|updated` (and legacy `plan.*`) → the product's `unitAmount`.
    func decodePrice(_ context: Context) throws(StripeEventError) -> DecodedEvent {
        let event = try context.wire(StripeWirePrice.self)
        let price = event.data.object
        typealias V = StripeCanonicalValues
        guard let productID = price.product?.id else { return context.ignored("price without a product") }
        guard price.active != false else { return context.ignored("inactive price does not set the product's amount") }
        guard let money = V.money(price.unitAmountMinor, V.currency(price.currency)) else {
            return context.ignored("price has no fixed unit amount")
        }
        let fields: [String: JSONValue] = ["ref": values.ref(.product, productID), "unitAmount": money]
        let ref = values.externalRef(.product, productID)
        return context.changes([CanonicalChange(ref: ref, fields: fields, version: context.version(event.created))])
    }

    /// A Stripe address as a canonical `PostalAddress`; `null` when absent or empty.
    static func address(_ wire: StripeWireAddress?) -> JSONValue {
        guard let wire else { return .null }
        let address = PostalAddress(
            line1: wire.line1, line2: wire.line2, city: wire.city, postalCode: wire.postal_code, state: wire.state,
            country: wire.country
        )
        if address == PostalAddress() { return .null }
        return CanonicalCoding.jsonValue(address)
    }

    /// The VAT-like id when there is one, else the first.
    static func preferredTaxID(_ taxIDs: [StripeWireTaxID]) -> StripeWireTaxID? {
        taxIDs.first { $0.type?.hasSuffix("_vat") == true && $0.value != nil } ?? taxIDs.first { $0.value != nil }
    }
}
