import { render } from 'preact'
import { Dashboard } from './app.tsx'
import './dashboard.css'

const root = document.getElementById('dashboard')
if (root !== null) render(<Dashboard />, root)
