"""The dashboard's services (models on offer, live classification, background jobs, store reads reshaped for
pages), its figures (`figures`) and its Streamlit widgets (`ui`, `image_ui`, `reads`). The pages in app/ call
these; these call pruning_core. Only the widget modules import Streamlit."""
