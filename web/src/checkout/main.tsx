import { render } from 'preact'
import { Checkout } from './app.tsx'
import './checkout.css'

const root = document.getElementById('checkout')
if (root !== null) render(<Checkout />, root)
