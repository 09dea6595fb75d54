"""Token Pruning Lens, the dashboard: `lens app` (or `streamlit run app/Home.py`). The pages are declared in
dashboard.navigation."""
from dashboard import navigation

navigation.run()
