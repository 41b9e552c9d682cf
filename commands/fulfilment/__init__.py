"""The fulfilment context's write side: one shipment per paid order."""
