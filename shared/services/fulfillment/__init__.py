"""The order-to-ship flow's services (docs/order-to-ship.md): the state machine's steps (`steps`), the partner
callbacks that resume or cancel it (`callbacks`), carrier tracking (`tracking`) and the order's fulfillment view.
Decisions are in `shared.domain.order_flow`; the order's flow record in `shared.aws.fulfillment_store`."""
