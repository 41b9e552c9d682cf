"""The SQLite event store for several bounded contexts in one file.

eventsourcing's SQLite factory names every Application's tables `stored_events`; its
PostgreSQL factory names them after the Application (`catalog_events`). This factory
names them as the PostgreSQL one does, so each context keeps its own tables and its own
gap-free notification log in the one file of embedded mode.
"""

from eventsourcing.persistence import AggregateRecorder, ApplicationRecorder
from eventsourcing.sqlite import SQLiteFactory


class ContextSQLiteFactory(SQLiteFactory):
    def _table(self, purpose: str) -> str:
        return f"{self.env.name.lower() or 'stored'}_{purpose}"

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        recorder = self.aggregate_recorder_class(datastore=self.datastore,
                                                 events_table_name=self._table(purpose))
        if self.env_create_table():
            recorder.create_table()
        return recorder

    def application_recorder(self) -> ApplicationRecorder:
        recorder = self.application_recorder_class(datastore=self.datastore,
                                                   events_table_name=self._table("events"))
        if self.env_create_table():
            recorder.create_table()
        return recorder
