// GENERATED FILE, DO NOT EDIT. Source: contracts/src/UsdCoinClone.sol.
// Regenerate with: npm run contracts:build (npx tsx contracts/scripts/compile.ts).
// solc 0.8.37+commit.f401782d.Emscripten.clang, optimizer on (runs 200), evmVersion cancun.
// contracts/test/artifacts.test.ts fails when this file no longer matches the sources.

import type { Abi, Hex } from 'viem'

export const usdCoinCloneAbi = [
  {
    "inputs": [],
    "stateMutability": "nonpayable",
    "type": "constructor"
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "AccountBlacklisted",
    "type": "error"
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
    "inputs": [
      {
        "internalType": "uint256",
        "name": "supply",
        "type": "uint256"
      },
      {
        "internalType": "uint256",
        "name": "minted",
        "type": "uint256"
      }
    ],
    "name": "SupplyCapExceeded",
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
        "name": "account",
        "type": "address"
      }
    ],
    "name": "Blacklisted",
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
    "anonymous": false,
    "inputs": [
      {
        "indexed": true,
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "UnBlacklisted",
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
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "blacklist",
    "outputs": [],
    "stateMutability": "nonpayable",
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
    "stateMutability": "pure",
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
    "name": "isBlacklisted",
    "outputs": [
      {
        "internalType": "bool",
        "name": "",
        "type": "bool"
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
  },
  {
    "inputs": [
      {
        "internalType": "address",
        "name": "account",
        "type": "address"
      }
    ],
    "name": "unBlacklist",
    "outputs": [],
    "stateMutability": "nonpayable",
    "type": "function"
  }
] as const satisfies Abi

export const usdCoinCloneBytecode = '0x608060405234801561000f575f5ffd5b5033604051806040016040528060088152602001672aa9a21021b7b4b760c11b815250604051806040016040528060048152602001635553444360e01b815250816003908161005e919061019e565b50600461006b828261019e565b5050506001600160a01b03811661009b57604051631e4fbdf760e01b81525f600482015260240160405180910390fd5b6100a4816100aa565b5061025c565b600580546001600160a01b038381166001600160a01b0319831681179093556040519116919082907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b634e487b7160e01b5f52604160045260245ffd5b600181811c9082168061012357607f821691505b60208210810361014157634e487b7160e01b5f52602260045260245ffd5b50919050565b601f821115610199578282111561019957805f5260205f20601f840160051c602085101561017257505f5b90810190601f840160051c035f5b81811015610195575f83820155600101610180565b5050505b505050565b81516001600160401b038111156101b7576101b76100fb565b6101cb816101c5845461010f565b84610147565b6020601f8211600181146101fd575f83156101e65750848201515b5f19600385901b1c1916600184901b178455610255565b5f84815260208120601f198516915b8281101561022c578785015182556020948501946001909201910161020c565b508482101561024957868401515f19600387901b60f8161c191681555b505060018360011b0184555b5050505050565b610b20806102695f395ff3fe608060405234801561000f575f5ffd5b50600436106100fb575f3560e01c8063715018a611610093578063dd62ed3e11610063578063dd62ed3e146101ed578063f2fde38b14610225578063f9f92be414610238578063fe575a871461024b575f5ffd5b8063715018a6146101af5780638da5cb5b146101b757806395d89b41146101d2578063a9059cbb146101da575f5ffd5b806323b872dd116100ce57806323b872dd14610167578063313ce5671461017a57806340c10f191461018957806370a082311461019c575f5ffd5b806306fdde03146100ff578063095ea7b31461011d57806318160ddd146101405780631a89526614610152575b5f5ffd5b61010761025e565b604051610114919061097c565b60405180910390f35b61013061012b3660046109cc565b6102ee565b6040519015158152602001610114565b6007545b604051908152602001610114565b6101656101603660046109f4565b610314565b005b610130610175366004610a0d565b610375565b60405160068152602001610114565b6101656101973660046109cc565b610392565b6101446101aa3660046109f4565b6103a8565b6101656103da565b6005546040516001600160a01b039091168152602001610114565b6101076103ed565b6101306101e83660046109cc565b6103fc565b6101446101fb366004610a47565b6001600160a01b039182165f90815260016020908152604080832093909416825291909152205490565b6101656102333660046109f4565b610413565b6101656102463660046109f4565b610455565b6101306102593660046109f4565b6104a7565b60606003805461026d90610a78565b80601f016020809104026020016040519081016040528092919081815260200182805461029990610a78565b80156102e45780601f106102bb576101008083540402835291602001916102e4565b820191905f5260205f20905b8154815290600101906020018083116102c757829003601f168201915b5050505050905090565b5f6102f8336104c9565b610301836104c9565b61030b83836104fb565b90505b92915050565b61031c610508565b61032b6001600160ff1b610ac4565b6001600160a01b0382165f818152600660205260408082208054909416909355915190917f117e3210bb9aa7d9baff172026820255c6f6c30ba8999d1c2fd88e2848137c4e91a250565b5f61037f336104c9565b61038a848484610535565b949350505050565b61039a610508565b6103a48282610558565b5050565b5f6103b86001600160ff1b610ac4565b6001600160a01b039092165f9081526006602052604090205491909116919050565b6103e2610508565b6103eb5f61058c565b565b60606004805461026d90610a78565b5f336104098185856105dd565b5060019392505050565b61041b610508565b6001600160a01b03811661044957604051631e4fbdf760e01b81525f60048201526024015b60405180910390fd5b6104528161058c565b50565b61045d610508565b6001600160a01b0381165f818152600660205260408082208054600160ff1b179055517fffa4e6181777692565cf28528fc88fd1516ea86b56da075235fa575af6a4b8559190a250565b6001600160a01b03165f90815260066020526040902054600160ff1b16151590565b6104d2816104a7565b156104525760405163571f7b4960e01b81526001600160a01b0382166004820152602401610440565b5f3361040981858561063f565b6005546001600160a01b031633146103eb5760405163118cdaa760e01b8152336004820152602401610440565b5f3361054285828561064c565b61054d8585856105dd565b506001949350505050565b6001600160a01b0382166105815760405163ec442f0560e01b81525f6004820152602401610440565b6103a45f83836106c8565b600580546001600160a01b038381166001600160a01b0319831681179093556040519116919082907f8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0905f90a35050565b6001600160a01b03831661060657604051634b637e8f60e11b81525f6004820152602401610440565b6001600160a01b03821661062f5760405163ec442f0560e01b81525f6004820152602401610440565b61063a8383836106c8565b505050565b61063a83838360016108b8565b6001600160a01b038381165f908152600160209081526040808320938616835292905220545f198110156106c257818110156106b457604051637dc7a0d960e11b81526001600160a01b03841660048201526024810182905260448101839052606401610440565b6106c284848484035f6108b8565b50505050565b6001600160a01b03831661073c576007546106e86001600160ff1b610ac4565b6106f29190610ac4565b81111561072057600754604051634b344b1160e01b8152600481019190915260248101829052604401610440565b8060075f8282546107319190610ad7565b909155506107dc9050565b6001600160a01b0383165f90815260066020526040902054600160ff1b8116156107845760405163571f7b4960e01b81526001600160a01b0385166004820152602401610440565b818110156107be5760405163391434e360e21b81526001600160a01b03851660048201526024810182905260448101839052606401610440565b6001600160a01b0384165f9081526006602052604090209082900390555b6001600160a01b03821661080e5760405163ec442f0560e01b81526001600160a01b0383166004820152602401610440565b6001600160a01b0382165f90815260066020526040902054600160ff1b8116156108565760405163571f7b4960e01b81526001600160a01b0384166004820152602401610440565b6001600160a01b038084165f818152600660205260409081902084860190555190918616907fddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef906108aa9086815260200190565b60405180910390a350505050565b6001600160a01b0384166108e15760405163e602df0560e01b81525f6004820152602401610440565b6001600160a01b03831661090a57604051634a1406b160e11b81525f6004820152602401610440565b6001600160a01b038085165f90815260016020908152604080832093871683529290522082905580156106c257826001600160a01b0316846001600160a01b03167f8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925846040516108aa91815260200190565b602081525f82518060208401528060208501604085015e5f604082850101526040601f19601f83011684010191505092915050565b80356001600160a01b03811681146109c7575f5ffd5b919050565b5f5f604083850312156109dd575f5ffd5b6109e6836109b1565b946020939093013593505050565b5f60208284031215610a04575f5ffd5b61030b826109b1565b5f5f5f60608486031215610a1f575f5ffd5b610a28846109b1565b9250610a36602085016109b1565b929592945050506040919091013590565b5f5f60408385031215610a58575f5ffd5b610a61836109b1565b9150610a6f602084016109b1565b90509250929050565b600181811c90821680610a8c57607f821691505b602082108103610aaa57634e487b7160e01b5f52602260045260245ffd5b50919050565b634e487b7160e01b5f52601160045260245ffd5b8181038181111561030e5761030e610ab0565b8082018082111561030e5761030e610ab056fea26469706673582212200b2f81e51f35fa6a93e2a4e537816ca9c5f1f0226c857a0a9d83db6dc6764b2964736f6c63430008250033' as const satisfies Hex
