import Foundation
import Testing
import WeftCore

@testable import WeftSimOdoo

/// Odoo runs each call in one transaction: a call that fails leaves nothing of what it did. The simulator notes what
/// each change replaces and puts it back (`Database.rollBack()`), so every kind of change has to be noted.
@Suite("Odoo simulator: a failed call leaves nothing")
struct CallRollbackTests {
    /// Everything a call can change, comparable. Search indexes are left out: they are a superset by design.
    struct Contents: Equatable {
        var rows: [String: [Int64: [String: JSONValue]]]
        var ids: [String: [Int64]]
        var xmlids: ShardedDictionary<String, Int64>
        var sequences: [String: Int64]
        var reconciles: ShardedDictionary<Int64, [Reconcile]>

        init(_ db: Database) {
            var rows: [String: [Int64: [String: JSONValue]]] = [:]
            var ids: [String: [Int64]] = [:]
            for model in db.tables.keys {
                let all = db.ids(model)
                ids[model] = all
                rows[model] = Dictionary(uniqueKeysWithValues: all.compactMap { id in db.row(model, id).map { (id, $0) } })
            }
            (self.rows, self.ids) = (rows, ids)
            (xmlids, sequences, reconciles) = (db.xmlids, db.sequences, db.reconciles)
        }
    }

    func database(_ flavour: Flavour) -> Database {
        var db = Database(flavour: flavour)
        db.now = Date(timeIntervalSince1970: 1_795_384_786)
        Seed.populate(&db, login: "admin")
        return db
    }

    /// Runs `method` on a copy of `db` and rolls it back, which must leave the copy as `db` was; then runs it for
    /// good on `db` and answers its result.
    @discardableResult
    func step(
        _ db: inout Database, _ model: String, _ method: String, ids: [Int64] = [], _ args: [String: JSONValue] = [:],
        context: [String: JSONValue] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> MethodResult {
        let call = BoundCall(ids: ids, args: args, extra: [:], ctx: CallContext(context))
        let before = Contents(db)
        var trial = db
        trial.beginCall(at: db.now)
        _ = try trial.invoke(model, method, call)
        #expect(Contents(trial) != before, "\(model).\(method) changed nothing", sourceLocation: sourceLocation)
        trial.rollBack()
        #expect(Contents(trial) == before, "\(model).\(method) was not put back whole", sourceLocation: sourceLocation)
        db.beginCall(at: db.now)
        let result = try db.invoke(model, method, call)
        db.commitCall()
        return result
    }

    func created(_ result: MethodResult) throws -> Int64 {
        guard case .created(let ids, _) = result, let id = ids.first else { throw OdooError.user("nothing was created") }
        return id
    }

    /// Each step of a customer's life in Odoo (partners and their external ids, products, an invoice posted, paid,
    /// reset to draft and posted again, a credit note, a payment cancelled, an order confirmed and invoiced, records
    /// deleted) is rolled back once before it is made: every kind of change the ORM and the business methods make.
    @Test(arguments: [Flavour(major: 19, enterprise: true, accounting: true), Flavour(major: 18, enterprise: false, accounting: false)])
    func everyStepOfAStoryIsPutBackWhole(flavour: Flavour) throws {
        var db = database(flavour)
        let company = try created(step(&db, "res.partner", "create", ["vals_list": ["name": "Acme", "is_company": true, "ref": "A-1"]]))
        let contact = try created(
            step(&db, "res.partner", "create", ["vals_list": [["name": "Jane", "parent_id": .int(company), "email": "jane@acme.example"]]]))
        try step(&db, "res.partner", "write", ids: [company], ["vals": ["street": "1 Main St", "ref": "A-2"]])
        let external = try created(
            step(
                &db, "ir.model.data", "create",
                ["vals_list": ["module": "weft", "name": "stripe_customer_cus_1", "model": "res.partner", "res_id": .int(company)]]))
        try step(&db, "ir.model.data", "write", ids: [external], ["vals": ["name": "stripe_customer_cus_2"]])
        let product = try created(
            step(&db, "product.product", "create", ["vals_list": ["name": "Seat", "default_code": "SEAT", "list_price": 12.5]]))
        try step(&db, "product.product", "write", ids: [product], ["vals": ["default_code": "SEAT-2", "list_price": 15.0]])

        let line: JSONValue = [0, 0, ["product_id": .int(product), "name": "Seat", "quantity": 2, "price_unit": 100.0]]
        let invoice = try created(
            step(
                &db, "account.move", "create",
                ["vals_list": ["move_type": "out_invoice", "partner_id": .int(company), "ref": "in_1", "invoice_line_ids": [line]]]))
        try step(&db, "account.move", "write", ids: [invoice], ["vals": ["currency_id": 3]])
        try step(&db, "account.move", "write", ids: [invoice], ["vals": ["currency_id": 1, "invoice_line_ids": [line]]])
        try step(&db, "account.move", "action_post", ids: [invoice])

        let active: [String: JSONValue] = ["active_model": "account.move", "active_ids": [.int(invoice)]]
        let wizard = try created(step(&db, "account.payment.register", "create", ["vals_list": ["amount": 100.0]], context: active))
        try step(&db, "account.payment.register", "action_create_payments", ids: [wizard], context: active)
        let payment = try #require(db.ids("account.payment").last)
        try step(&db, "account.payment", "action_cancel", ids: [payment])
        let full = try created(step(&db, "account.payment.register", "create", ["vals_list": [:]], context: active))
        try step(&db, "account.payment.register", "action_create_payments", ids: [full], context: active)
        #expect(
            db.value("account.move", invoice, "payment_state") == "paid"
                || db.value("account.move", invoice, "payment_state") == "in_payment")
        try step(&db, "account.move", "button_draft", ids: [invoice])
        try step(&db, "account.move", "action_post", ids: [invoice])

        let reversal = try created(
            step(&db, "account.move.reversal", "create", ["vals_list": ["journal_id": 1, "reason": "Refund"]], context: active))
        try step(&db, "account.move.reversal", "refund_moves", ids: [reversal], context: active)
        let refund = try #require(db.ids("account.move").last)
        try step(&db, "account.move", "action_post", ids: [refund])
        try step(
            &db, "account.move", "button_cancel",
            ids: [
                try created(
                    step(
                        &db, "account.move", "create",
                        ["vals_list": ["move_type": "out_invoice", "partner_id": .int(contact), "invoice_line_ids": [line]]]))
            ])

        let order = try created(
            step(
                &db, "sale.order", "create",
                [
                    "vals_list": [
                        "partner_id": .int(company),
                        "order_line": [[0, 0, ["product_id": .int(product), "product_uom_qty": 3, "price_unit": 15.0]]],
                    ]
                ]))
        try step(&db, "sale.order", "action_confirm", ids: [order])
        let advance = try created(
            step(
                &db, "sale.advance.payment.inv", "create",
                ["vals_list": ["advance_payment_method": "delivered", "sale_order_ids": [[6, 0, [.int(order)]]]]]))
        try step(&db, "sale.advance.payment.inv", "create_invoices", ids: [advance])

        try step(&db, "ir.model.data", "unlink", ids: [external])
        try step(&db, "res.partner", "unlink", ids: [contact])
        #expect(!db.exists("res.partner", contact))
    }

    /// Through the simulator's own call path: a batch `create` whose second record fails leaves neither record nor
    /// external id behind, and the id the first one took is not given out again (ids come from a PostgreSQL sequence,
    /// which a rolled-back transaction does not give back).
    @Test func aFailedBatchLeavesNoRecordAndSkipsTheIdsItTook() throws {
        let simulator = OdooSimulator()
        func create(_ records: [JSONValue]) throws(OdooError) -> [Int64] {
            let result = try simulator.execute(model: "ir.model.data", method: "create", transport: .json2) { _ throws(OdooError) in
                BoundCall(ids: [], args: ["vals_list": .array(records)], extra: [:], ctx: CallContext())
            }
            guard case .created(let ids, _) = result else { return [] }
            return ids
        }
        func record(_ name: String) -> JSONValue {
            ["module": "weft", "name": .string(name), "model": "res.partner", "res_id": 3]
        }
        let first = try create([record("kept")])
        do {
            _ = try create([record("rolled_back"), record("kept")])
            Issue.record("a duplicate external id was accepted")
        } catch {
            #expect(error.name == "odoo.exceptions.ValidationError")
        }
        let names = try simulator.search(model: "ir.model.data", domain: [["module", "=", "weft"]]).compactMap { id in
            simulator.records(model: "ir.model.data").first { $0["id"]?.intValue == id }?["name"]?.stringValue
        }
        #expect(names == ["kept"])
        let next = try create([record("next")])
        #expect(next.first.map { $0 > (first.first ?? 0) + 1 } == true)
    }
}
