// GENERATED FILE, DO NOT EDIT. Source: contracts/src/BscUsdClone.sol.
// Regenerate with: npm run contracts:build (npx tsx contracts/scripts/compile.ts).
// solc 0.8.37+commit.f401782d.Emscripten.clang, optimizer on (runs 200), evmVersion cancun.
// contracts/test/artifacts.test.ts fails when this file no longer matches the sources.

import type { Abi, Hex } from 'viem'

export const bscUsdCloneAbi = [
  {
    "inputs": [],
    "stateMutability": "nonpayable",
    "type": "constructor"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "allowance",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "needed",
        "type": "uint256"
      }
    ],
    "name": "ERC20InsufficientAllowance",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "sender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "balance",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "needed",
        "type": "uint256"
      }
    ],
    "name": "ERC20InsufficientBalance",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "approver",
        "type": "address"
      }
    ],
    "name": "ERC20InvalidApprover",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "receiver",
        "type": "address"
      }
    ],
    "name": "ERC20InvalidReceiver",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "sender",
        "type": "address"
      }
    ],
    "name": "ERC20InvalidSender",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      }
    ],
    "name": "ERC20InvalidSpender",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "owner",
        "type": "address"
      }
    ],
    "name": "OwnableInvalidOwner",
    "type": "error"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "OwnableUnauthorizedAccount",
    "type": "error"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "owner",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "indexed": false,
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "Approval",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "previousOwner",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "newOwner",
        "type": "address"
      }
    ],
    "name": "OwnershipTransferred",
    "type": "event"
  },
  {
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "from",
        "type": "address"
      },
      {
        "indexed": true,
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "indexed": false,
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "Transfer",
    "type": "event"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "owner",
        "type": "address"
      },
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      }
    ],
    "name": "allowance",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "spender",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "approve",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
      }
    ],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "balanceOf",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "decimals",
    "outputs": [
      {
        "internalType": "uint8",
        "name": "",
        "type": "uint8"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "getOwner",
    "outputs": [
      {
        "internalType": "address",
        "name": "",
        "type": "address"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "amount",
        "type": "uint256"
      }
    ],
    "name": "mint",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "name",
    "outputs": [
      {
        "internalType": "string",
        "name": "",
        "type": "string"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "owner",
    "outputs": [
      {
        "internalType": "address",
        "name": "",
        "type": "address"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "renounceOwnership",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "symbol",
    "outputs": [
      {
        "internalType": "string",
        "name": "",
        "type": "string"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [],
    "name": "totalSupply",
    "outputs": [
      {
        "internalType": "uint256",
        "name": "",
        "type": "uint256"
      }
    ],
    "stateMutability": "view",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "transfer",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
      }
    ],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "from",
        "type": "address"
      },
      {
        "internalType": "address",
        "name": "to",
        "type": "address"
      },
      {
        "internalType": "uint256",
        "name": "value",
        "type": "uint256"
      }
    ],
    "name": "transferFrom",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
      }
    ],
    "stateMutability": "nonpayable",
    "type": "function"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "newOwner",
        "type": "address"
      }
    ],
    "name": "transferOwnership",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  }
] as const satisfies Abi

export const bscUsdCloneBytecode = '0x608060405234801561000f575f5ffd5b50336040518060400160405280601381526020017f42696e616e63652d506567204253432d55534400000000000000000000000000815250604051806040016040528060078152602001661094d0cb5554d160ca1b815250816003908161007691906101b6565b50600461008382826101b6565b5050506001600160a01b0381166100b357604051631e4fbdf760e01b81525f600482015260240160405180910390fd5b6100bc816100c2565b50610274565b600580546001600160a01b038381166001600160a01b0319831681179093556040519116919082907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b634e487b7160e01b5f52604160045260245ffd5b600181811c9082168061013b57607f821691505b60208210810361015957634e487b7160e01b5f52602260045260245ffd5b50919050565b601f8211156101b157828211156101b157805f5260205f20601f840160051c602085101561018a57505f5b90810190601f840160051c035f5b818110156101ad575f83820155600101610198565b5050505b505050565b81516001600160401b038111156101cf576101cf610113565b6101e3816101dd8454610127565b8461015f565b6020601f821160018114610215575f83156101fe5750848201515b5f19600385901b1c1916600184901b17845561026d565b5f84815260208120601f198516915b828110156102445787850151825560209485019460019092019101610224565b508482101561026157868401515f19600387901b60f8161c191681555b505060018360011b0184555b5050505050565b6108ca806102815f395ff3fe608060405234801561000f575f5ffd5b50600436106100e5575f3560e01c8063715018a61161008857806395d89b411161006357806395d89b41146101d4578063a9059cbb146101dc578063dd62ed3e146101ef578063f2fde38b14610227575f5ffd5b8063715018a61461019b578063893d20e8146101a35780638da5cb5b146101c3575f5ffd5b806323b872dd116100c357806323b872dd1461013c578063313ce5671461014f57806340c10f191461015e57806370a0823114610173575f5ffd5b806306fdde03146100e9578063095ea7b31461010757806318160ddd1461012a575b5f5ffd5b6100f161023a565b6040516100fe919061073a565b60405180910390f35b61011a61011536600461078a565b6102ca565b60405190151581526020016100fe565b6002545b6040519081526020016100fe565b61011a61014a3660046107b2565b6102e3565b604051601281526020016100fe565b61017161016c36600461078a565b610306565b005b61012e6101813660046107ec565b6001600160a01b03165f9081526020819052604090205490565b61017161031c565b6101ab61032f565b6040516001600160a01b0390911681526020016100fe565b6005546001600160a01b03166101ab565b6100f1610347565b61011a6101ea36600461078a565b610356565b61012e6101fd36600461080c565b6001600160a01b039182165f90815260016020908152604080832093909416825291909152205490565b6101716102353660046107ec565b610363565b6060600380546102499061083d565b80601f01602080910402602001604051908101604052809291908181526020018280546102759061083d565b80156102c05780601f10610297576101008083540402835291602001916102c0565b820191905f5260205f20905b8154815290600101906020018083116102a357829003601f168201915b5050505050905090565b5f336102d78185856103a5565b60019150505b92915050565b5f336102f08582856103b7565b6102fb858585610433565b506001949350505050565b61030e610490565b61031882826104bd565b5050565b610324610490565b61032d5f6104f1565b565b5f6103426005546001600160a01b031690565b905090565b6060600480546102499061083d565b5f336102d7818585610433565b61036b610490565b6001600160a01b03811661039957604051631e4fbdf760e01b81525f60048201526024015b60405180910390fd5b6103a2816104f1565b50565b6103b28383836001610542565b505050565b6001600160a01b038381165f908152600160209081526040808320938616835292905220545f1981101561042d578181101561041f57604051637dc7a0d960e11b81526001600160a01b03841660048201526024810182905260448101839052606401610390565b61042d84848484035f610542565b50505050565b6001600160a01b03831661045c57604051634b637e8f60e11b81525f6004820152602401610390565b6001600160a01b0382166104855760405163ec442f0560e01b81525f6004820152602401610390565b6103b2838383610614565b6005546001600160a01b0316331461032d5760405163118cdaa760e01b8152336004820152602401610390565b6001600160a01b0382166104e65760405163ec442f0560e01b81525f6004820152602401610390565b6103185f8383610614565b600580546001600160a01b038381166001600160a01b0319831681179093556040519116919082907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b6001600160a01b03841661056b5760405163e602df0560e01b81525f6004820152602401610390565b6001600160a01b03831661059457604051634a1406b160e11b81525f6004820152602401610390565b6001600160a01b038085165f908152600160209081526040808320938716835292905220829055801561042d57826001600160a01b0316846001600160a01b03167f8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b9258460405161060691815260200190565b60405180910390a350505050565b6001600160a01b03831661063e578060025f8282546106339190610875565b909155506106ae9050565b6001600160a01b0383165f90815260208190526040902054818110156106905760405163391434e360e21b81526001600160a01b03851660048201526024810182905260448101839052606401610390565b6001600160a01b0384165f9081526020819052604090209082900390555b6001600160a01b0382166106ca576002805482900390556106e8565b6001600160a01b0382165f9081526020819052604090208054820190555b816001600160a01b0316836001600160a01b03167fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef8360405161072d91815260200190565b60405180910390a3505050565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b80356001600160a01b0381168114610785575f5ffd5b919050565b5f5f6040838503121561079b575f5ffd5b6107a48361076f565b946020939093013593505050565b5f5f5f606084860312156107c4575f5ffd5b6107cd8461076f565b92506107db6020850161076f565b929592945050506040919091013590565b5f602082840312156107fc575f5ffd5b6108058261076f565b9392505050565b5f5f6040838503121561081d575f5ffd5b6108268361076f565b91506108346020840161076f565b90509250929050565b600181811c9082168061085157607f821691505b60208210810361086f57634e487b7160e01b5f52602260045260245ffd5b50919050565b808201808211156102dd57634e487b7160e01b5f52601160045260245ffdfea26469706673582212201cd0185ee99437d6e7d44055cfd7aa6baa1c7bde6306af706be21c7a1b7c754464736f6c63430008250033' as const satisfies Hex
