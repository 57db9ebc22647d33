"""The controller: reconcilers that make clusters follow Git.

The application reconciler refreshes each Application (render, compare, assess
health), writes its ``.status`` when something changed, and runs sync operations:
automated ones as the sync policy says, and manual ones requested through the API.
The ApplicationSet reconciler runs generators, renders templates and creates, updates
or deletes the generated Applications. Projects, sync windows, history and rollback,
app-of-apps and destination clusters are handled here.
"""
